"""One reader of ansible-playbook's PLAY RECAP, for every test that counts changes or failures."""
import re

_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.M)


def parse_recap(output):
    """{host: {"ok": n, "changed": n, "unreachable": n, "failed": n, "skipped": n, ...}} from the
    PLAY RECAP of a playbook's output (the last recap when the output holds several runs)."""
    text = output.rsplit("PLAY RECAP", 1)[-1] if "PLAY RECAP" in output else output
    found = {}
    for m in _LINE.finditer(text):
        counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2)))
        if "changed" in counts and "failed" in counts:
            found[m.group(1)] = counts
    return found
