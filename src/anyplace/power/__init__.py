"""Running servers only when needed: schedules, the autoscale policy, the controller, metering."""
