/**
 * A generated COCO keypoint evaluation case of val2017's size, for measuring `eval-coco`: 5,000 images, 6,352
 * persons with labelled keypoints (plus persons without keypoints and crowd regions, as val2017 has), and 100,000
 * person results (noisy copies of the ground truths and false positives, full float64 digits as Python's `json`
 * writes them). Deterministic: the same options give the same files, byte for byte.
 */
import seedrandom from 'seedrandom';
import type { CocoKeypointAnnotation, CocoKeypointResult, CocoKeypointsFile } from '../data/coco-format';
import { COCO_META } from '../data/keypoint-meta';

/** Options of {@link makeCocoEvalCase}; the defaults are val2017's sizes. */
export interface CocoEvalCaseOptions {
  /** Images (default 5,000). */
  images?: number;
  /** Persons with at least one labelled keypoint (default 6,352). */
  persons?: number;
  /** Persons without labelled keypoints (default 4,500). */
  unlabelledPersons?: number;
  /** Crowd regions (default 150). */
  crowds?: number;
  /** Person results (default 100,000). */
  results?: number;
  /** Seed (default 0). */
  seed?: number;
}

/** A generated case: the annotation file and the results file contents. */
export interface CocoEvalCase {
  gt: CocoKeypointsFile;
  results: CocoKeypointResult[];
}

/** A person's 17 keypoint offsets from its box's top-left corner, as fractions of the box (a standing figure). */
const POSE: readonly [number, number][] = [
  [0.5, 0.08], [0.55, 0.06], [0.45, 0.06], [0.6, 0.08], [0.4, 0.08], [0.68, 0.22], [0.32, 0.22], [0.75, 0.38],
  [0.25, 0.38], [0.78, 0.52], [0.22, 0.52], [0.62, 0.55], [0.38, 0.55], [0.62, 0.75], [0.38, 0.75], [0.62, 0.95], [0.38, 0.95],
];

/**
 * Generates the case (see the file comment).
 * @returns the annotation file (`images [N]`, `annotations`, `categories`) and results, keypoints `[51]` each
 */
export function makeCocoEvalCase(opts: CocoEvalCaseOptions = {}): CocoEvalCase {
  const numImages = opts.images ?? 5000;
  const numPersons = opts.persons ?? 6352;
  const numUnlabelled = opts.unlabelledPersons ?? 4500;
  const numCrowds = opts.crowds ?? 150;
  const numResults = opts.results ?? 100000;
  const rng = seedrandom(`coco-eval-case:${opts.seed ?? 0}`);
  const uniform = (lo: number, hi: number): number => lo + (hi - lo) * rng();
  const int = (lo: number, hi: number): number => Math.floor(uniform(lo, hi + 1));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

  const images = Array.from({ length: numImages }, (_, i) => {
    const id = 100000 + i * 7 + int(0, 6);
    return { id, file_name: `${String(id).padStart(12, '0')}.jpg`, width: int(320, 640), height: int(240, 640) };
  });
  // About half of the images show people, as in val2017 (2,693 of 5,000).
  const withPeople = images.filter(() => rng() < 0.54);
  const annotations: CocoKeypointAnnotation[] = [];
  const labelledByImage = new Map<number, CocoKeypointAnnotation[]>();
  const addPerson = (kind: 'labelled' | 'unlabelled' | 'crowd'): void => {
    const image = withPeople[int(0, withPeople.length - 1)];
    const w = uniform(12, image.width * 0.6);
    const h = Math.min(image.height - 1, w * uniform(1.6, 3));
    const x = uniform(0, image.width - w);
    const y = uniform(0, Math.max(0, image.height - h));
    const keypoints = new Array<number>(51).fill(0);
    let labelled = 0;
    if (kind === 'labelled') {
      const shown = int(1, 17);
      for (let j = 0; j < 17; j++) {
        if (j >= shown && rng() < 0.7) continue;
        keypoints[3 * j] = Math.round(x + POSE[j][0] * w + normal() * 0.02 * w);
        keypoints[3 * j + 1] = Math.round(y + POSE[j][1] * h + normal() * 0.02 * h);
        keypoints[3 * j + 2] = rng() < 0.8 ? 2 : 1;
        labelled++;
      }
    }
    const ann: CocoKeypointAnnotation = {
      id: 200000 + annotations.length * 3 + int(0, 2),
      image_id: image.id,
      category_id: 1,
      keypoints,
      num_keypoints: labelled,
      area: Math.round(w * h * uniform(0.45, 0.7) * 100) / 100,
      bbox: [x, y, w, h].map((v) => Math.round(v * 100) / 100),
      iscrowd: kind === 'crowd' ? 1 : 0,
    };
    annotations.push(ann);
    if (kind === 'labelled') {
      const list = labelledByImage.get(image.id) ?? [];
      list.push(ann);
      labelledByImage.set(image.id, list);
    }
  };
  for (let i = 0; i < numPersons; i++) addPerson('labelled');
  for (let i = 0; i < numUnlabelled; i++) addPerson('unlabelled');
  for (let i = 0; i < numCrowds; i++) addPerson('crowd');
  // The file lists annotations by image, as COCO's files do.
  annotations.sort((a, b) => a.image_id - b.image_id || a.id - b.id);

  const results: CocoKeypointResult[] = [];
  const labelledImages = [...labelledByImage.keys()];
  for (let r = 0; r < numResults; r++) {
    const copy = rng() < 0.6;
    const imageId = copy ? labelledImages[int(0, labelledImages.length - 1)] : images[int(0, numImages - 1)].id;
    const keypoints = new Array<number>(51);
    let score: number;
    if (copy) {
      const persons = labelledByImage.get(imageId) as CocoKeypointAnnotation[];
      const gt = persons[int(0, persons.length - 1)];
      const [x, y, w, h] = gt.bbox;
      const spread = uniform(0.01, 0.2);
      for (let j = 0; j < 17; j++) {
        keypoints[3 * j] = x + POSE[j][0] * w + normal() * spread * w;
        keypoints[3 * j + 1] = y + POSE[j][1] * h + normal() * spread * h;
        keypoints[3 * j + 2] = uniform(0.05, 0.98);
      }
      score = uniform(0.2, 1) * (1 - spread);
    } else {
      const w = uniform(10, 200);
      const h = w * uniform(1.5, 3);
      const x = uniform(0, 500);
      const y = uniform(0, 400);
      for (let j = 0; j < 17; j++) {
        keypoints[3 * j] = x + POSE[j][0] * w + normal() * 0.1 * w;
        keypoints[3 * j + 1] = y + POSE[j][1] * h + normal() * 0.1 * h;
        keypoints[3 * j + 2] = uniform(0.01, 0.6);
      }
      score = uniform(0.01, 0.6);
    }
    const center = [uniform(0, 600), uniform(0, 600)];
    const scale = [uniform(0.1, 3), uniform(0.1, 3)];
    results.push({ image_id: imageId, category_id: 1, keypoints, score, center, scale });
  }
  return {
    gt: {
      images,
      annotations,
      categories: [{ id: 1, name: 'person', supercategory: 'person', keypoints: [...COCO_META.keypointNames], skeleton: [] }],
    },
    results,
  };
}
