"""``make run`` serves on the next free port when its own is taken (distributor.free_port)."""

import socket

from distributor.free_port import free_port, main


def test_a_free_port_is_kept_and_a_taken_one_skipped(capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        found = free_port("127.0.0.1", taken)
        assert found is not None and found > taken
        assert main(["free_port", "127.0.0.1", str(taken)]) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == str(found)
        assert f"Port {taken} on 127.0.0.1 is taken: serving on {found} instead." in captured.err
    assert free_port("127.0.0.1", found) == found


def test_no_free_port_in_range_is_an_error(capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        assert free_port("127.0.0.1", taken, tries=1) is None
