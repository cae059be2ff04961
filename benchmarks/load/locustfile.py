"""Locust's fastest user class hammering /ok with no wait: the comparison baseline."""

from locust import FastHttpUser, constant, task


class OkUser(FastHttpUser):
    """One virtual user: GET /ok in a loop, no think time (like wrk and vigil's closed model)."""

    wait_time = constant(0)

    @task
    def ok(self) -> None:
        """The only request."""
        self.client.get("/ok")
