"""The engine refuses, saying why, a NATS server without the consumer reset it resumes with."""

import pytest
from nats.aio.client import ServerVersion

from bus.engine_consumer import ServerTooOld, check_server_version


@pytest.mark.parametrize("version", ["2.14.0", "2.15.1", "3.0.0"])
def test_a_server_with_the_consumer_reset_is_accepted(version):
    check_server_version(ServerVersion(version))


@pytest.mark.parametrize("version", ["2.11.8", "2.13.9", "1.4.1"])
def test_an_older_server_is_refused_with_the_reason(version):
    with pytest.raises(ServerTooOld, match=rf"nats-server {version} has no consumer reset .* >= 2\.14"):
        check_server_version(ServerVersion(version))
