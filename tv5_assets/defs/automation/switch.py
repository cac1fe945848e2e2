"""One switch for everything that starts runs by itself: `TV5_AUTOMATION=on` (also 1/true/yes).

Off by default, so a new user's `dagster dev` starts no run they did not ask for; the schedule and
sensors are listed and can be turned on one by one in the UI. The variable is read each time the code
location loads (restart `dagster dev`, or reload the location, after changing it).
"""

from __future__ import annotations

import dagster as dg

from ...settings import env_flag

AUTOMATION_SWITCH = "TV5_AUTOMATION"


def automation_on() -> bool:
    return env_flag(AUTOMATION_SWITCH)


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_on() else dg.DefaultScheduleStatus.STOPPED
