# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
"""Run the tkuv Python suite and end with one summary line:

    python: N passed, N failed, N skipped

(failed counts failures, errors and unexpected successes). Exit status 1 on
any of those. Usage: python3 python/tests/run.py [-q] [unittest names...]
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    verbosity = 1 if "-q" in argv else 2
    names = [a for a in argv if a != "-q"]
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(HERE, top_level_dir=HERE)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity
                                     ).run(suite)
    failed = (len(result.failures) + len(result.errors)
              + len(result.unexpectedSuccesses))
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    sys.stdout.flush()
    print("python: %d passed, %d failed, %d skipped" % (passed, failed,
                                                        skipped))
    return 1 if failed or result.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
