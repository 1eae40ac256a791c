"""Running cycles by themselves: the scheduler loop and the leadership among processes."""

from selfheal.schedule.leader import Leadership
from selfheal.schedule.scheduler import Scheduler, SchedulerState

__all__ = ["Leadership", "Scheduler", "SchedulerState"]
