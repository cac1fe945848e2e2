"""A tiny code location for the instance tests: two assets, their job and a schedule (no store)."""

import dagster as dg


@dg.asset(group_name="instance_test", description="A constant.")
def tiny_numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset(group_name="instance_test", description="The sum of tiny_numbers.")
def tiny_total(tiny_numbers: list[int]) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"total": sum(tiny_numbers)})


tiny_job = dg.define_asset_job("tiny_job", selection=[tiny_numbers, tiny_total])
tiny_schedule = dg.ScheduleDefinition(name="tiny_schedule", job=tiny_job, cron_schedule="*/15 * * * *")

defs = dg.Definitions(
    assets=[tiny_numbers, tiny_total],
    jobs=[tiny_job],
    schedules=[tiny_schedule],
    resources={"io_manager": dg.mem_io_manager},
)
