"""Amazon EC2 through boto3: start, stop (optionally hibernate), and read states.

States are read with a filter on the instance ids rather than by id, so one
deleted instance does not fail the whole read (EC2 answers
InvalidInstanceID.NotFound for the call); terminated instances count as gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from anyplace.domain import PowerState
from anyplace.errors import Permanent, Transient

__all__ = ["AwsCloud", "map_aws_errors"]

T = TypeVar("T")
STATES = {
    "pending": PowerState.STARTING,
    "running": PowerState.ON,
    "stopping": PowerState.STOPPING,
    "shutting-down": PowerState.STOPPING,
    "stopped": PowerState.OFF,
}
TRANSIENT_CODES = {
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "InsufficientInstanceCapacity",
    "IncorrectInstanceState",
    "InternalError",
    "ServiceUnavailable",
    "Unavailable",
}


def map_aws_errors(call: Callable[[], T], what: str) -> T:
    try:
        return call()
    except NoCredentialsError as exc:
        raise Permanent(f"no AWS credentials ({what})") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in TRANSIENT_CODES:
            raise Transient(f"EC2 answered {code} ({what}); try again") from exc
        raise Permanent(f"EC2 answered {code} ({what})") from exc
    except BotoCoreError as exc:
        raise Transient(f"cannot reach EC2 ({what}): {exc}") from exc


class AwsCloud:
    name = "aws"

    def __init__(self, ec2: Any, *, hibernate: bool = False) -> None:
        self._ec2 = ec2
        self.hibernate = hibernate

    @classmethod
    def from_region(cls, region: str, *, hibernate: bool = False) -> AwsCloud:
        return cls(boto3.client("ec2", region_name=region), hibernate=hibernate)

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        if not machine_ids:
            return {}

        def read() -> dict[str, PowerState]:
            result: dict[str, PowerState] = {}
            paginator = self._ec2.get_paginator("describe_instances")
            filters = [{"Name": "instance-id", "Values": list(machine_ids)}]
            for page in paginator.paginate(Filters=filters):
                for reservation in page["Reservations"]:
                    for instance in reservation["Instances"]:
                        state = STATES.get(instance["State"]["Name"])
                        if state is not None:
                            result[instance["InstanceId"]] = state
            return result

        return map_aws_errors(read, "describe instances")

    def start(self, machine_id: str) -> None:
        map_aws_errors(
            lambda: self._ec2.start_instances(InstanceIds=[machine_id]), f"start {machine_id}"
        )

    def stop(self, machine_id: str) -> None:
        map_aws_errors(
            lambda: self._ec2.stop_instances(InstanceIds=[machine_id], Hibernate=self.hibernate),
            f"stop {machine_id}",
        )

    def close(self) -> None:
        self._ec2.close()
