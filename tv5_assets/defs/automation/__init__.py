"""Jobs, schedules, sensors and declarative automation: how the graph is run, by hand or by itself.

- `jobs.py`: the named jobs (`build_everything`, `ingest`, `embeddings`, `load_stores`, `quality`,
  `refresh_trends_cache`), each with the executor that suits its steps (`executors.py`).
- `schedules.py`: `trends_cache_every_10_minutes` keeps the Redis trend cache inside its TTL.
- `sensors.py`: `movielens_release_sensor` starts `build_everything` for what a changed GroupLens file feeds,
  and `store_loads_automation` evaluates the store loads' `AutomationCondition`s.
- `switch.py`: everything above that starts runs by itself is off by default; `TV5_AUTOMATION=on`
  turns all of it on (docs/operating.md).
"""
