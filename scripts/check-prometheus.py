#!/usr/bin/python3
"""Parses the text format 0.0.4 on stdin with the Prometheus client library
(Debian: python3-prometheus-client) and prints what it understood, sorted:
one "# family TYPE" line per metric family, then one "sample{labels} value"
line per sample.  Exits non-zero when the text does not parse."""

import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    out = []

    try:
        for family in text_string_to_metric_families(sys.stdin.read()):
            out.append("# %s %s" % (family.name, family.type))

            for s in family.samples:
                labels = ",".join('%s="%s"' % kv
                                  for kv in sorted(s.labels.items()))
                out.append("%s{%s} %g" % (s.name, labels, s.value))

    except Exception as e:
        print("check-prometheus: %s" % e, file=sys.stderr)
        return 1

    print("\n".join(sorted(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
