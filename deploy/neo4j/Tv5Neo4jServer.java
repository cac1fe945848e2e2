// A real Neo4j Community 5.26 server for TV5's local stack: the embedded DBMS with its Bolt
// connector, keeping its data under a home folder so it survives stop and start.
//
// Run as a single-file program (no build step), with the jars resolved by the pom beside it:
//
//   mvn -q dependency:copy-dependencies -DoutputDirectory=lib
//   java -Xmx1g --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
//        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED \
//        -cp 'lib/*' Tv5Neo4jServer.java --home DIR --port 57687 --ready-file DIR/ready
//
// Options (each falls back to an environment variable, then a default):
//   --home DIR          TV5_NEO4J_HOME        Neo4j home (data, logs); required
//   --host HOST         TV5_NEO4J_HOST        Bolt listen host (default 127.0.0.1)
//   --port N            TV5_NEO4J_PORT        Bolt port (default 57687)
//   --pagecache SIZE    TV5_NEO4J_PAGECACHE   page cache, e.g. 256m or 1g (default 256m)
//   --ready-file PATH   TV5_NEO4J_READY_FILE  written once Bolt accepts clients, removed at stop
//   --truncate-cut-log true                   (no variable: never left on by accident) recovery drops
//                                             an unreadable end of the transaction log
// Authentication is off unless TV5_NEO4J_PASSWORD is set in the environment (never on the command
// line, where `ps` would show it); then user `neo4j` gets that password at every start.
//
// SIGTERM (or Ctrl-C) runs a shutdown hook that stops the DBMS cleanly before the JVM exits.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;

public class Tv5Neo4jServer {

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable error) {
            // Neo4j's own threads would keep the JVM alive after main fails: exit, so that the
            // shutdown hook stops the DBMS and `tv5 services up` sees the failure at once.
            System.err.println("tv5-neo4j: failed to start: " + error);
            error.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        String homeText = option(options, "home", "TV5_NEO4J_HOME", null);
        if (homeText == null) {
            fail("--home DIR (or TV5_NEO4J_HOME) is required: the folder where Neo4j keeps its data");
        }
        Path home = Path.of(homeText).toAbsolutePath();
        String host = option(options, "host", "TV5_NEO4J_HOST", "127.0.0.1");
        int port = Integer.parseInt(option(options, "port", "TV5_NEO4J_PORT", "57687"));
        long pageCacheBytes = parseSize(option(options, "pagecache", "TV5_NEO4J_PAGECACHE", "256m"));
        String readyText = option(options, "ready-file", "TV5_NEO4J_READY_FILE", null);
        Path readyFile = readyText == null ? null : Path.of(readyText).toAbsolutePath();
        // Once, by hand (`tv5 services up --only neo4j --truncate-cut-log`): recovery drops an unreadable
        // end of the transaction log (a transaction a full disk cut short, never applied) instead of
        // refusing to start the database.
        boolean truncateCutLog = Boolean.parseBoolean(option(options, "truncate-cut-log", null, "false"));
        String password = System.getenv("TV5_NEO4J_PASSWORD");
        boolean authEnabled = password != null && !password.isEmpty();

        Files.createDirectories(home);
        if (readyFile != null) {
            Files.deleteIfExists(readyFile);
        }

        long started = System.nanoTime();
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        Path extraConfig = home.resolve("conf").resolve("neo4j.conf");
        if (Files.isRegularFile(extraConfig)) {
            // Optional tuning by hand (any neo4j.conf setting); the options below still win.
            builder.loadPropertiesFromFile(extraConfig);
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, authEnabled)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheBytes)
                // A development server: bound the transaction logs by size, not the default 2 days,
                // so repeated full-scale loads do not fill the disk.
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "1G size")
                // Netty's default 5 s quiet period (twice) made every stop take 10 s; nothing is
                // in flight once `down` sends SIGTERM, so stop the Bolt server promptly.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(GraphDatabaseInternalSettings.fail_on_corrupted_log_files, !truncateCutLog)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("tv5-neo4j: stopping");
            try {
                if (readyFile != null) {
                    Files.deleteIfExists(readyFile);
                }
            } catch (IOException ignored) {
                // the pid check in `tv5 services status` still tells a stale ready file apart
            }
            dbms.shutdown();
            System.out.println("tv5-neo4j: stopped cleanly");
            stopped.countDown();
        }, "tv5-neo4j-shutdown"));

        if (authEnabled) {
            // The system database is reached in-process here, which needs no login; this sets the
            // password the platform reads from TV5_NEO4J_PASSWORD and clears "change required".
            try {
                dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                        "ALTER USER neo4j SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
                        Map.of("password", password));
            } catch (QueryExecutionException error) {
                // Neo4j refuses to "change" a password to itself: then it is already the one wanted.
                if (!String.valueOf(error.getMessage()).contains("Old password and new password cannot be the same")) {
                    throw error;
                }
            }
        }

        String defaultDatabase = dbms.listDatabases().contains("neo4j") ? "neo4j" : dbms.listDatabases().toString();
        double seconds = (System.nanoTime() - started) / 1e9;
        String ready = String.format(Locale.ROOT,
                "{\"pid\": %d, \"bolt\": \"bolt://%s:%d\", \"home\": \"%s\", \"auth\": %s, \"pagecache_bytes\": %d, "
                        + "\"max_heap_bytes\": %d, \"databases\": \"%s\", \"start_seconds\": %.2f}%n",
                ProcessHandle.current().pid(), host, port, home.toString().replace("\\", "\\\\"), authEnabled,
                pageCacheBytes, Runtime.getRuntime().maxMemory(), defaultDatabase, seconds);
        if (readyFile != null) {
            // Written beside its final name and renamed, so a reader never sees half of it.
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, ready, StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.print("tv5-neo4j: ready " + ready);
        System.out.flush();
        stopped.await();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                fail("unexpected argument '" + arg + "'; options are --home --host --port --pagecache --ready-file --truncate-cut-log");
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                fail("option --" + name + " needs a value");
                return options;
            }
            options.put(name, value);
        }
        return options;
    }

    private static String option(Map<String, String> options, String name, String envName, String fallback) {
        String value = options.get(name);
        if ((value == null || value.isEmpty()) && envName != null) {
            value = System.getenv(envName);
        }
        return value == null || value.isEmpty() ? fallback : value;
    }

    /** "256m", "1g", "512M", "1073741824" -> bytes. */
    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        if (last == 'k' || last == 'm' || last == 'g') {
            unit = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Long.parseLong(t) * unit;
        } catch (NumberFormatException e) {
            fail("page cache size '" + text + "' is not a size such as 256m or 1g (TV5_NEO4J_PAGECACHE)");
            return 0;
        }
    }

    private static void fail(String message) {
        System.err.println("tv5-neo4j: " + message);
        System.exit(2);
    }
}
