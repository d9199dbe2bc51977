"""DRMAA2 JobTemplate and JobInfo as pydantic v2 models.

Fields are snake_case; every field also reads and writes the JSON key Go's
drmaa2interface uses (``model_dump(by_alias=True)``), so a template stored by
drmaa2os round-trips through these models. Go's zero time
(``0001-01-01T00:00:00Z``) reads as ``None``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    field_serializer,
    field_validator,
)
from pydantic.alias_generators import to_camel

from .states import JobState

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def _go_time_or_none(value: Any) -> Any:
    if value in (None, "", GO_ZERO_TIME) or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    return value


class _GoModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        validate_assignment=True,
    )


class Extension(_GoModel):
    """Implementation-specific key/value pairs (Go: ``Extension.ExtensionList``)."""

    extension_list: dict[str, str] = Field(default_factory=dict)


class JobTemplate(_GoModel):
    """What to run. ``job_category`` is the container image."""

    remote_command: str | None = None
    args: list[str] = Field(default_factory=list)
    submit_as_hold: bool = False
    re_runnable: bool = False
    job_environment: dict[str, str] = Field(default_factory=dict)
    working_directory: str | None = None
    job_category: str | None = None
    email: list[str] = Field(default_factory=list)
    email_on_started: bool = False
    email_on_terminated: bool = False
    job_name: str | None = None
    input_path: str | None = None
    output_path: str | None = None
    error_path: str | None = None
    join_files: bool = False
    reservation_id: str | None = None
    queue_name: str | None = None
    min_slots: int | None = None
    max_slots: int | None = None
    priority: int | None = None
    candidate_machines: list[str] = Field(default_factory=list)
    min_phys_memory: int | None = None
    machine_os: str | None = None
    machine_arch: str | None = None
    start_time: datetime | None = None
    deadline_time: datetime | None = None
    stage_in_files: dict[str, str] = Field(default_factory=dict)
    stage_out_files: dict[str, str] = Field(default_factory=dict)
    resource_limits: dict[str, str] = Field(default_factory=dict)
    accounting_id: str | None = Field(
        default=None,
        alias="accountingString",
        validation_alias=AliasChoices("accountingString", "accounting_id", "accountingId"),
    )
    extension: Extension = Field(default_factory=Extension)

    @field_validator("start_time", "deadline_time", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _go_time_or_none(value)

    @field_validator("args", "email", "candidate_machines", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator(
        "job_environment", "stage_in_files", "stage_out_files", "resource_limits", mode="before"
    )
    @classmethod
    def _null_map(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("extension", mode="before")
    @classmethod
    def _null_extension(cls, value: Any) -> Any:
        return {} if value is None else value

    def to_go_json(self) -> str:
        """Go's JSON encoding (camelCase keys, unset fields left out)."""
        return self.model_dump_json(by_alias=True, exclude_defaults=True)


class JobInfo(_GoModel):
    """What is known about a job. ``None`` means DRMAA2's *unset*; as a
    filter (``JobSession.get_jobs``) only the fields that are set must match."""

    id: str | None = None
    exit_status: int | None = None
    terminating_signal: str | None = Field(
        default=None,
        alias="terminationSignal",
        validation_alias=AliasChoices("terminationSignal", "terminating_signal"),
    )
    annotation: str | None = None
    state: JobState = JobState.UNSET
    sub_state: str | None = None
    allocated_machines: list[str] = Field(default_factory=list)
    submission_machine: str | None = None
    job_owner: str | None = None
    slots: int | None = None
    queue_name: str | None = None
    wallclock_time: timedelta | None = Field(
        default=None,
        # drmaa2interface spelled it "wallockTime" before it was fixed.
        validation_alias=AliasChoices("wallclockTime", "wallockTime", "wallclock_time"),
    )
    cpu_time: int | None = None
    submission_time: datetime | None = None
    dispatch_time: datetime | None = None
    finish_time: datetime | None = None
    extension: Extension = Field(default_factory=Extension)

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> Any:
        return JobState.parse(value)

    @field_validator("wallclock_time", mode="before")
    @classmethod
    def _go_duration(cls, value: Any) -> Any:
        # Go encodes time.Duration as integer nanoseconds.
        if isinstance(value, int) and not isinstance(value, bool):
            return timedelta(microseconds=value / 1000)
        return value

    @field_validator("submission_time", "dispatch_time", "finish_time", mode="before")
    @classmethod
    def _zero_time(cls, value: Any) -> Any:
        return _go_time_or_none(value)

    @field_validator("allocated_machines", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_serializer("state")
    def _dump_state(self, state: JobState, info: FieldSerializationInfo) -> int | str:
        return int(state) if info.by_alias else state.go_name

    @field_serializer("wallclock_time")
    def _dump_wallclock(self, value: timedelta | None, info: FieldSerializationInfo) -> Any:
        if value is None:
            return None
        if info.by_alias:
            return int(value.total_seconds() * 1_000_000) * 1000
        return value.total_seconds()


class MachineInfo(_GoModel):
    """A machine as DRMAA2's monitoring session describes it."""

    name: str
    available: bool = True
    sockets: int | None = None
    cores_per_socket: int | None = None
    threads_per_core: int | None = None
    load: float | None = None
    #: Bytes.
    phys_memory: int | None = None
    virt_memory: int | None = None
    machine_arch: str | None = None
    machine_os: str | None = None
    machine_os_version: str | None = None
