"""Every cloud provider keeps the same contract, each tested through its vendor's SDK.

Azure: azure-mgmt-compute against a locally served ARM stand-in over HTTPS.
AWS: boto3 against moto. libvirt: libvirt-python against its test:///default
driver. The simulated cloud and the fake keep the same contract.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import libvirt
import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.compute import ComputeManagementClient
from botocore.stub import Stubber
from moto import mock_aws

from anyplace.clock import VirtualClock
from anyplace.clouds.aws import AwsCloud
from anyplace.clouds.azure import AzureCloud
from anyplace.clouds.base import CloudProvider, FakeCloud, Permanent, Transient
from anyplace.clouds.libvirt import LibvirtCloud
from anyplace.clouds.sim import SimCloud
from anyplace.domain import PowerState
from tests.clouds.arm_server import ArmState, serve_arm

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"


class FixedCredential:
    """What azure-identity would hand the SDK: a bearer token (accepted by the stand-in)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> AccessTokenInfo:
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


@dataclass
class Subject:
    """A provider with one machine that is on (`running`) and one that is off (`stopped`)."""

    provider: CloudProvider
    running: str
    stopped: str
    settle: Callable[[], None]
    unknown: str = "nope"


@pytest.fixture
def azure(tmp_path: Path) -> Iterator[tuple[Subject, ArmState]]:
    state = ArmState(SUBSCRIPTION, tokens={"token-1"})
    state.vms[("rg-avd", "gen-01")] = "running"
    state.vms[("rg-avd", "gen-02")] = "deallocated"
    with serve_arm(state, tmp_path) as (url, cert):
        client = ComputeManagementClient(
            FixedCredential("token-1"),
            SUBSCRIPTION,
            base_url=url,
            connection_verify=str(cert),
            retry_total=0,
        )
        cloud = AzureCloud(client, SUBSCRIPTION)
        subject = Subject(cloud, "rg-avd/gen-01", "rg-avd/gen-02", lambda: None, "rg-avd/nope")
        yield subject, state
        cloud.close()


@pytest.fixture
def aws() -> Iterator[Subject]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-north-1")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        made = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m5.large")
        running, stopped = (i["InstanceId"] for i in made["Instances"])
        ec2.stop_instances(InstanceIds=[stopped])
        yield Subject(AwsCloud(ec2), running, stopped, lambda: None, "i-0123456789abcdef0")


@pytest.fixture
def virt() -> Iterator[Subject]:
    connection = libvirt.open("test:///default")
    xml = (
        "<domain type='test'><name>gen-02</name><memory>65536</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    connection.defineXML(xml)
    cloud = LibvirtCloud(connection)
    yield Subject(cloud, "test", "gen-02", lambda: None)
    cloud.close()


@pytest.fixture
def sim() -> Subject:
    clock = VirtualClock(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    cloud = SimCloud(clock)
    cloud.add_machine("gen-01", boot_minutes=5, state=PowerState.ON)
    cloud.add_machine("gen-02", boot_minutes=5)
    return Subject(cloud, "gen-01", "gen-02", lambda: clock.advance(timedelta(minutes=20)))


@pytest.fixture
def fake() -> Subject:
    cloud = FakeCloud({"gen-01": PowerState.ON, "gen-02": PowerState.OFF})
    return Subject(cloud, "gen-01", "gen-02", lambda: None)


@pytest.fixture(params=["azure", "aws", "libvirt", "sim", "fake"])
def subject(request: pytest.FixtureRequest) -> Subject:
    if request.param == "azure":
        found: tuple[Subject, ArmState] = request.getfixturevalue("azure")
        return found[0]
    found_subject: Subject = request.getfixturevalue(
        {"libvirt": "virt"}.get(request.param, request.param)
    )
    return found_subject


def settled(subject: Subject, machine: str) -> PowerState:
    """The state once a change has had time to finish (a read first, as the controller does)."""
    subject.provider.power_states([machine])
    subject.settle()
    return subject.provider.power_states([machine])[machine]


def test_power_states_of_known_machines_only(subject: Subject) -> None:
    states = subject.provider.power_states([subject.running, subject.stopped, subject.unknown])
    assert states == {subject.running: PowerState.ON, subject.stopped: PowerState.OFF}


def test_start_and_stop_reach_their_states(subject: Subject) -> None:
    subject.provider.start(subject.stopped)
    assert settled(subject, subject.stopped) is PowerState.ON
    subject.provider.stop(subject.running)
    assert settled(subject, subject.running) is PowerState.OFF


def test_verbs_are_idempotent(subject: Subject) -> None:
    subject.provider.start(subject.running)
    subject.provider.stop(subject.stopped)
    assert settled(subject, subject.running) is PowerState.ON
    assert settled(subject, subject.stopped) is PowerState.OFF


def test_an_unknown_machine_is_a_permanent_error(subject: Subject) -> None:
    with pytest.raises(Permanent):
        subject.provider.start(subject.unknown)


def test_azure_stops_by_deallocating_and_maps_http_errors(
    azure: tuple[Subject, ArmState],
) -> None:
    subject, state = azure
    subject.provider.stop(subject.running)
    assert state.requests[-1].endswith("/virtualMachines/gen-01/deallocate")
    state.failures.append(429)
    with pytest.raises(Transient, match="429"):
        subject.provider.power_states([subject.running])
    state.failures.append(503)
    with pytest.raises(Transient):
        subject.provider.start(subject.stopped)
    state.failures.append(403)
    with pytest.raises(Permanent, match="403"):
        subject.provider.start(subject.stopped)
    state.tokens.clear()
    with pytest.raises(Permanent, match="credentials"):
        subject.provider.power_states([subject.running])


def test_azure_deallocates_a_vm_shut_down_from_inside(azure: tuple[Subject, ArmState]) -> None:
    subject, state = azure
    state.vms[("rg-avd", "gen-01")] = "stopped"  # allocated, still billed
    assert subject.provider.power_states([subject.running]) == {
        subject.running: PowerState.STOPPING
    }
    assert state.requests[-1].endswith("/gen-01/deallocate")
    assert settled(subject, subject.running) is PowerState.OFF


def test_aws_maps_throttling_and_hibernates_when_asked() -> None:
    ec2 = boto3.client("ec2", region_name="eu-north-1")
    cloud = AwsCloud(ec2, hibernate=True)
    with Stubber(ec2) as stub:
        stub.add_client_error("start_instances", service_error_code="RequestLimitExceeded")
        with pytest.raises(Transient, match="RequestLimitExceeded"):
            cloud.start("i-0123456789abcdef0")
        stub.add_client_error("stop_instances", service_error_code="UnauthorizedOperation")
        with pytest.raises(Permanent, match="UnauthorizedOperation"):
            cloud.stop("i-0123456789abcdef0")
        stub.add_response(
            "stop_instances",
            {"StoppingInstances": []},
            {"InstanceIds": ["i-0123456789abcdef0"], "Hibernate": True},
        )
        cloud.stop("i-0123456789abcdef0")
        stub.assert_no_pending_responses()
