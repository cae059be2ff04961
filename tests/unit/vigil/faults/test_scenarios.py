"""Scenario files: the built-in ones load, and a bad one is refused naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.config import Capability
from vigil.errors import ConfigError
from vigil.faults.experiment import BUILT_IN_SCENARIOS, capability_needed, load_scenario


@pytest.mark.parametrize("name", BUILT_IN_SCENARIOS)
def test_every_built_in_scenario_loads_and_expects_a_diagnosis(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.faults and all(s.fault.expect for s in scenario.faults)
    assert scenario.traffic.max_pairs > 0


def test_a_scenario_with_a_bad_field_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nfaults:\n  - fault: {kind: process_kill, role: janitor}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: faults.0.fault.process_kill.role"):
        load_scenario(str(path))


def test_an_unknown_scenario_lists_the_built_in_ones() -> None:
    with pytest.raises(ConfigError, match=r"neither a built-in scenario .*component_failure"):
        load_scenario("chaos_monkey")


def test_each_fault_kind_names_the_capability_it_needs() -> None:
    scenario = load_scenario("component_failure")
    assert {capability_needed(s.fault) for s in scenario.faults} == {Capability.PROCESS_CONTROL}
    assert capability_needed(load_scenario("error_injection").faults[0].fault) is Capability.ADMIN
