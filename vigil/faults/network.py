"""Network faults, applied by vigil's own fault proxy between the clients and the target.

The target is never touched: only traffic that goes through the proxy
(:class:`vigil.faults.proxy.FaultProxy`, given in the fault context) suffers. The
proxy lives in vigil's process, so a vigil that dies takes its fault with it; the
journal entry only records that, so a later vigil can say so.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

from vigil.errors import TargetUnavailableError
from vigil.faults.base import ActiveFault, FaultContext, FaultEvidence
from vigil.faults.config import (
    NetworkBandwidthConfig,
    NetworkBlackholeConfig,
    NetworkLatencyConfig,
    NetworkRefuseConfig,
    NetworkResetConfig,
)
from vigil.faults.proxy import FaultProxy, ProxyFault
from vigil.store import ActiveFaultRecord

_PROBE_TIMEOUT_S = 2.0


class _NetworkFault(ActiveFault):
    """Base: set the proxy's fault; roll back by clearing it."""

    journalled = True

    def __init__(self, config: Any, context: FaultContext) -> None:
        super().__init__(config, context)
        self.proxy: FaultProxy | None = None

    def proxy_fault(self) -> ProxyFault:
        """What the proxy must do wrong."""
        raise NotImplementedError

    def prepare(self) -> None:
        if not isinstance(self.context.proxy, FaultProxy):
            raise TargetUnavailableError(
                f"{self.name}: network faults need vigil's fault proxy between the clients "
                "and the target; none runs in this experiment"
            )
        self.proxy = self.context.proxy

    def apply(self) -> None:
        assert self.proxy is not None
        self.proxy.set_fault(self.proxy_fault())

    def _request(self) -> tuple[float | None, str]:
        """One health request through the proxy: (seconds, '') or (None, what went wrong)."""
        assert self.proxy is not None
        url = f"http://{self.proxy.host}:{self.proxy.port}{self.context.endpoint.health_path}"
        began = time.perf_counter()
        try:
            response = httpx.get(url, timeout=_PROBE_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return time.perf_counter() - began, f"HTTP {response.status_code}"

    def effect(self) -> FaultEvidence:
        took, what = self._request()
        ok = took is None
        return FaultEvidence(ok, f"a request through the proxy: {what}")

    def revert(self) -> bool:
        assert self.proxy is not None
        acted = self.proxy.fault.active
        self.proxy.clear()
        return acted

    def rollback_held(self) -> FaultEvidence:
        took, what = self._request()
        if took is None:
            return FaultEvidence(False, f"a request through the proxy still fails: {what}")
        return FaultEvidence(True, f"a request through the proxy answered in {took * 1000:.1f} ms")

    @classmethod
    def revert_journalled(cls, entry: ActiveFaultRecord) -> str:
        return (
            f"the proxy on port {entry.proxy_port} ended with the vigil process that ran it; "
            "the target itself was never touched"
        )


class NetworkLatencyFault(_NetworkFault):
    """Delay traffic through the proxy."""

    kind = "network_latency"

    def __init__(self, config: NetworkLatencyConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: NetworkLatencyConfig = config

    def proxy_fault(self) -> ProxyFault:
        return ProxyFault(latency_ms=self.config.latency_ms, jitter_ms=self.config.jitter_ms)

    def effect(self) -> FaultEvidence:
        took, what = self._request()
        if took is None:
            return FaultEvidence(False, f"a request through the proxy failed: {what}")
        # A request and its answer each cross the proxy once: at least one delay.
        ok = took * 1000 >= self.config.latency_ms
        return FaultEvidence(ok, f"a request through the proxy took {took * 1000:.1f} ms")


class NetworkBandwidthFault(_NetworkFault):
    """Pace traffic through the proxy."""

    kind = "network_bandwidth"

    def __init__(self, config: NetworkBandwidthConfig, context: FaultContext) -> None:
        super().__init__(config, context)
        self.config: NetworkBandwidthConfig = config

    def proxy_fault(self) -> ProxyFault:
        return ProxyFault(bytes_per_s=self.config.bytes_per_s)

    def effect(self) -> FaultEvidence:
        assert self.proxy is not None
        active = self.proxy.fault.bytes_per_s == self.config.bytes_per_s
        return FaultEvidence(active, f"the proxy paces to {self.config.bytes_per_s} B/s")


class NetworkResetFault(_NetworkFault):
    """Reset connections through the proxy."""

    kind = "network_reset"

    def proxy_fault(self) -> ProxyFault:
        return ProxyFault(reset=True)


class NetworkBlackholeFault(_NetworkFault):
    """Never answer through the proxy."""

    kind = "network_blackhole"

    def proxy_fault(self) -> ProxyFault:
        return ProxyFault(blackhole=True)


class NetworkRefuseFault(_NetworkFault):
    """Refuse connections at the proxy."""

    kind = "network_refuse"

    def proxy_fault(self) -> ProxyFault:
        return ProxyFault(refuse=True)

    def effect(self) -> FaultEvidence:
        assert self.proxy is not None
        try:
            with socket.create_connection((self.proxy.host, self.proxy.port), timeout=1.0):
                return FaultEvidence(False, f"port {self.proxy.port} still accepts connections")
        except ConnectionRefusedError:
            return FaultEvidence(True, f"connections to port {self.proxy.port} are refused")
        except OSError as exc:
            return FaultEvidence(False, f"connecting to port {self.proxy.port}: {exc}")


__all__ = [
    "NetworkBandwidthConfig",
    "NetworkBandwidthFault",
    "NetworkBlackholeConfig",
    "NetworkBlackholeFault",
    "NetworkLatencyFault",
    "NetworkRefuseConfig",
    "NetworkRefuseFault",
    "NetworkResetConfig",
    "NetworkResetFault",
]
