"""Times pycocotools on a keypoint results file: COCO(gt), loadRes, evaluate, accumulate, summarize.

Usage: python3 scripts/pycocotools-time.py GT.json RESULTS.json
Prints one JSON line: {"seconds": ..., "stats": [10 values]}. Needs pycocotools importable (PYTHONPATH).
"""
import contextlib
import io
import json
import sys
import time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def main(gt_file, results_file):
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_file)
        dt = gt.loadRes(results_file)
        ev = COCOeval(gt, dt, 'keypoints')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    seconds = time.perf_counter() - started
    print(json.dumps({'seconds': seconds, 'stats': [float(v) for v in ev.stats]}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
