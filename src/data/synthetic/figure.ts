/**
 * One human-like figure: a pose (joint angles within human-like ranges), an appearance (skin, hair, clothing) and
 * the primitives that draw it, with the 17 COCO keypoints at the matching places: the nose, eyes and ears are
 * the drawn face features, shoulders/elbows/wrists/hips/knees/ankles the limb joints.
 *
 * Left/right follow COCO: a figure facing the viewer has its left side on the image's right; a figure seen from
 * the back has its left side on the image's left and no face (its nose and eyes are unlabelled). Clothing is
 * symmetric — left and right limbs share colours — so the side of a limb must be read from the figure's
 * orientation (face or back of the head) and the body layout, as with real people, and a horizontal flip with
 * the COCO flip pairs yields an equally valid figure.
 *
 * Everything is built in pixels around the pelvis (origin, y down, upright), then rotated and moved by
 * {@link placeFigure}.
 */
import type { UniformRng } from '../transforms';
import { type RgbColor, hex, randomColor, randomHair, randomSkin, shade } from './colors';
import { DEG, chance, normalClipped, pick, randSign, uniform, weightedIndex } from './random';
import {
  type Bounds,
  type DrawnShape,
  type Geometry,
  type Paint,
  type Point,
  capsuleShape,
  ellipseShape,
  geometryBounds,
  polygonShape,
  unionBounds,
} from './shapes';

/** Number of keypoints of a figure: the 17 COCO person keypoints, in COCO order. */
export const FIGURE_NUM_KEYPOINTS = 17;

/** Body side. */
export type Side = 'left' | 'right';

/** The body part a primitive belongs to. Limb parts carry the side of the body. */
export type BodyPart =
  | 'head'
  | 'neck'
  | 'torso'
  | `${'upperArm' | 'forearm' | 'hand' | 'thigh' | 'shin' | 'foot'}_${Side}`;

/**
 * The parts each keypoint sits on (`[17]`, COCO order). A keypoint is hidden only by a primitive of another part
 * (or another figure, or an occluder) drawn after these parts.
 */
export const KEYPOINT_OWN_PARTS: readonly (readonly BodyPart[])[] = [
  ['head'], // nose
  ['head'], // left_eye
  ['head'], // right_eye
  ['head'], // left_ear
  ['head'], // right_ear
  ['torso', 'neck', 'upperArm_left'], // left_shoulder
  ['torso', 'neck', 'upperArm_right'], // right_shoulder
  ['upperArm_left', 'forearm_left'], // left_elbow
  ['upperArm_right', 'forearm_right'], // right_elbow
  ['forearm_left', 'hand_left'], // left_wrist
  ['forearm_right', 'hand_right'], // right_wrist
  ['torso', 'thigh_left'], // left_hip
  ['torso', 'thigh_right'], // right_hip
  ['thigh_left', 'shin_left'], // left_knee
  ['thigh_right', 'shin_right'], // right_knee
  ['shin_left', 'foot_left'], // left_ankle
  ['shin_right', 'foot_right'], // right_ankle
];

/**
 * What the figure itself says about a keypoint before other shapes are considered: `shown` (drawn; visible unless
 * something covers it), `selfHidden` (behind the figure's own head, e.g. the far ear of a turned head: labelled,
 * occluded) or `unlabelled` (the face of a figure seen from the back).
 */
export type KeypointStatus = 'shown' | 'selfHidden' | 'unlabelled';

/** A primitive of a figure before placement: geometry, paint and body part. */
export interface FigurePrimitive {
  part: BodyPart;
  geometry: Geometry;
  paint: Paint;
}

/** A figure in its own frame: pelvis at the origin, upright, pixels. */
export interface LocalFigure {
  /** Body height in pixels (head top to feet of the upright, straight pose). */
  height: number;
  /** `[17]` keypoint positions `[x, y]`, COCO order. */
  keypoints: Point[];
  /** `[17]` status of each keypoint. */
  status: KeypointStatus[];
  /** Primitives in draw order (first drawn first). */
  primitives: FigurePrimitive[];
  /** Whether the figure faces the viewer (false: seen from the back). */
  facingViewer: boolean;
}

/** One drawn primitive of a placed figure. */
export interface FigureShape extends DrawnShape {
  part: BodyPart;
}

/** A figure in image coordinates (SVG units). */
export interface PlacedFigure {
  height: number;
  /** `[17]` keypoint positions `[x, y]`, COCO order. */
  keypoints: Point[];
  /** `[17]` status of each keypoint. */
  status: KeypointStatus[];
  /** Shapes in draw order. */
  shapes: FigureShape[];
  /** Tight box of all shapes (unclipped). */
  bounds: Bounds;
}

/** Where a figure goes: in-plane rotation about its pelvis, then translation of the pelvis. */
export interface FigurePlacement {
  /** Clockwise rotation on screen, radians. */
  rotation: number;
  /** Pelvis position in the image. */
  translation: Point;
}

const rot = (p: Point, a: number): Point => {
  const c = Math.cos(a);
  const s = Math.sin(a);
  return [p[0] * c - p[1] * s, p[0] * s + p[1] * c];
};
const add = (p: Point, q: Point): Point => [p[0] + q[0], p[1] + q[1]];
const scaleVec = (p: Point, k: number): Point => [p[0] * k, p[1] * k];
/** Unit direction at `alpha` radians from straight down, turning toward `lateral` (+1 image right, −1 left). */
const limbDir = (alpha: number, lateral: number): Point => [lateral * Math.sin(alpha), Math.cos(alpha)];

/** Pose family, which shapes the joint-angle ranges. */
type PoseMode = 'stand' | 'relaxed' | 'action' | 'crouch';

interface ArmPose {
  /** Upper-arm angle from straight down, positive away from the body (radians). */
  shoulder: number;
  /** Forearm angle relative to the upper arm (radians). */
  elbow: number;
  /** Foreshortening of upper arm and forearm (1 = in the image plane). */
  upperScale: number;
  lowerScale: number;
  /** Drawn behind the torso. */
  behind: boolean;
}

interface LegPose {
  hip: number;
  knee: number;
  upperScale: number;
  lowerScale: number;
}

function sampleArm(rng: UniformRng, mode: PoseMode): ArmPose {
  const shoulderRanges: [number, number][] = [
    [-25, 5],
    [5, 50],
    [50, 110],
    [110, 175],
  ];
  const weights = mode === 'action' ? [1, 2, 4, 3] : mode === 'stand' ? [1, 7, 1.5, 0.5] : [1.5, 5, 2.5, 1];
  const [lo, hi] = shoulderRanges[weightedIndex(rng, weights)];
  const shoulder = uniform(rng, lo, hi) * DEG;
  const elbow = chance(rng, mode === 'stand' ? 0.6 : 0.4) ? normalClipped(rng, 0, 15, -40, 40) * DEG : uniform(rng, -150, 150) * DEG;
  const foreshorten = chance(rng, 0.2);
  return {
    shoulder,
    elbow,
    upperScale: foreshorten ? uniform(rng, 0.5, 0.9) : uniform(rng, 0.92, 1.04),
    lowerScale: foreshorten ? uniform(rng, 0.5, 1) : uniform(rng, 0.92, 1.04),
    behind: chance(rng, 0.3),
  };
}

function sampleLeg(rng: UniformRng, mode: PoseMode): LegPose {
  let hip: number;
  let knee: number;
  let upperScale = uniform(rng, 0.93, 1.04);
  const lowerScale = uniform(rng, 0.93, 1.04);
  if (mode === 'crouch') {
    hip = uniform(rng, 10, 70) * DEG;
    knee = uniform(rng, -110, -20) * DEG;
    upperScale = uniform(rng, 0.35, 0.8);
  } else if (mode === 'action' && chance(rng, 0.35)) {
    hip = uniform(rng, 30, 100) * DEG;
    knee = uniform(rng, -120, 20) * DEG;
  } else {
    hip = (mode === 'stand' ? normalClipped(rng, 6, 6, -8, 25) : normalClipped(rng, 10, 12, -15, 45)) * DEG;
    knee = (chance(rng, 0.7) ? normalClipped(rng, 0, 8, -25, 25) : uniform(rng, -70, 40)) * DEG;
    if (chance(rng, 0.15)) upperScale = uniform(rng, 0.55, 0.9);
  }
  return { hip, knee, upperScale, lowerScale };
}

/** Clothing and body colours of one figure. */
interface Appearance {
  skin: RgbColor;
  hair: RgbColor | null;
  shirt: RgbColor;
  pants: RgbColor;
  shoes: RgbColor;
  /** Sleeve length: 0 none, 1 short (upper arm), 2 long. */
  sleeves: 0 | 1 | 2;
  longPants: boolean;
}

function sampleAppearance(rng: UniformRng): Appearance {
  return {
    skin: randomSkin(rng),
    hair: chance(rng, 0.9) ? randomHair(rng) : null,
    shirt: randomColor(rng, 0.1, 0.9, 0.12, 0.85),
    pants: randomColor(rng, 0.05, 0.7, 0.08, 0.7),
    shoes: randomColor(rng, 0, 0.5, 0.05, 0.45),
    sleeves: pick(rng, [0, 1, 1, 2, 2, 2] as const),
    longPants: chance(rng, 0.7),
  };
}

/**
 * Draws a random figure of body height `height` pixels in its own frame.
 * @param rng uniform stream
 * @param height body height in pixels
 */
export function sampleFigure(rng: UniformRng, height: number): LocalFigure {
  const u = height;
  const mode: PoseMode = (['stand', 'relaxed', 'action', 'crouch'] as const)[weightedIndex(rng, [0.35, 0.3, 0.25, 0.1])];
  const facingViewer = chance(rng, 0.85);
  /** Lateral sign of the figure's left side: image right when facing the viewer. */
  const leftLat = facingViewer ? 1 : -1;
  const lat = (side: Side) => (side === 'left' ? leftLat : -leftLat);
  const look = sampleAppearance(rng);

  // Proportions (fractions of the body height).
  const build = uniform(rng, 0.82, 1.22);
  const shoulderHalf = uniform(rng, 0.1, 0.13) * u;
  const hipHalf = uniform(rng, 0.065, 0.085) * u;
  const torsoLen = uniform(rng, 0.28, 0.32) * u;
  const upperArmLen = uniform(rng, 0.16, 0.19) * u;
  const forearmLen = uniform(rng, 0.14, 0.16) * u;
  const thighLen = uniform(rng, 0.22, 0.25) * u;
  const shinLen = uniform(rng, 0.21, 0.24) * u;
  const headRx = uniform(rng, 0.052, 0.064) * u;
  const headRy = headRx * uniform(rng, 1.15, 1.3);
  const rUpperArm = 0.032 * u * build;
  const rForearm = 0.026 * u * build;
  const rHand = 0.029 * u * Math.sqrt(build);
  const rThigh = 0.047 * u * build;
  const rShin = 0.035 * u * build;
  const rFoot = 0.022 * u * Math.sqrt(build);
  const outline = Math.min(2, Math.max(0.7, 0.006 * u));

  const lean = normalClipped(rng, 0, mode === 'action' ? 12 : 5, -30, 30) * DEG;
  const headTilt = normalClipped(rng, 0, 10, -30, 30) * DEG;
  const yaw = (facingViewer ? normalClipped(rng, 0, 25, -65, 65) : normalClipped(rng, 0, 12, -25, 25)) * DEG;
  const pitch = normalClipped(rng, 0, 0.08, -0.2, 0.2);

  const paint = (c: RgbColor, darken = 0.55): Paint => ({ fill: hex(c), stroke: hex(shade(c, darken)), strokeWidth: outline });
  const skinPaint = paint(look.skin, 0.7);
  const shirtPaint = paint(look.shirt);
  const pantsPaint = paint(look.pants);
  const upperArmPaint = look.sleeves >= 1 ? shirtPaint : skinPaint;
  const forearmPaint = look.sleeves === 2 ? shirtPaint : skinPaint;
  const shinPaint = look.longPants ? pantsPaint : skinPaint;
  const shoePaint = paint(look.shoes, 0.6);

  const upper = (p: Point): Point => rot(p, lean); // upper body rotates about the pelvis
  const keypoints: Point[] = new Array<Point>(FIGURE_NUM_KEYPOINTS).fill([0, 0]);
  const status: KeypointStatus[] = new Array<KeypointStatus>(FIGURE_NUM_KEYPOINTS).fill('shown');

  const armPrims: Record<Side, FigurePrimitive[]> = { left: [], right: [] };
  const armBehind: Record<Side, boolean> = { left: false, right: false };
  const legPrims: Record<Side, FigurePrimitive[]> = { left: [], right: [] };
  const sides: Side[] = ['left', 'right'];
  const armIdx = { left: { s: 5, e: 7, w: 9 }, right: { s: 6, e: 8, w: 10 } };
  const legIdx = { left: { h: 11, k: 13, a: 15 }, right: { h: 12, k: 14, a: 16 } };

  for (const side of sides) {
    const s = lat(side);
    const arm = sampleArm(rng, mode);
    armBehind[side] = arm.behind;
    const shoulder = upper([s * shoulderHalf, -torsoLen]);
    const upperDir = rot(limbDir(arm.shoulder, s), lean);
    const elbow = add(shoulder, scaleVec(upperDir, upperArmLen * arm.upperScale));
    const foreDir = rot(limbDir(arm.shoulder + arm.elbow, s), lean);
    const wrist = add(elbow, scaleVec(foreDir, forearmLen * arm.lowerScale));
    const handC = add(wrist, scaleVec(foreDir, rHand * 0.8));
    keypoints[armIdx[side].s] = shoulder;
    keypoints[armIdx[side].e] = elbow;
    keypoints[armIdx[side].w] = wrist;
    armPrims[side].push(
      { part: `upperArm_${side}`, geometry: { kind: 'capsule', a: shoulder, b: elbow, r: rUpperArm }, paint: upperArmPaint },
      { part: `forearm_${side}`, geometry: { kind: 'capsule', a: elbow, b: wrist, r: rForearm }, paint: forearmPaint },
      {
        part: `hand_${side}`,
        geometry: { kind: 'ellipse', c: handC, rx: rHand * 0.85, ry: rHand * 1.1, angle: Math.atan2(-foreDir[0], foreDir[1]) },
        paint: skinPaint,
      },
    );

    const leg = sampleLeg(rng, mode);
    const hip: Point = [s * hipHalf, 0];
    const thighDir = limbDir(leg.hip, s);
    const knee = add(hip, scaleVec(thighDir, thighLen * leg.upperScale));
    const shinAngle = Math.max(-60 * DEG, Math.min(150 * DEG, leg.hip + leg.knee));
    const shinDir = limbDir(shinAngle, s);
    const ankle = add(knee, scaleVec(shinDir, shinLen * leg.lowerScale));
    const footDir = limbDir(shinAngle + uniform(rng, 20, 60) * DEG, s);
    const toe = add(ankle, scaleVec(footDir, uniform(rng, 0.04, 0.06) * u));
    keypoints[legIdx[side].h] = hip;
    keypoints[legIdx[side].k] = knee;
    keypoints[legIdx[side].a] = ankle;
    legPrims[side].push(
      { part: `thigh_${side}`, geometry: { kind: 'capsule', a: hip, b: knee, r: rThigh }, paint: pantsPaint },
      { part: `shin_${side}`, geometry: { kind: 'capsule', a: knee, b: ankle, r: rShin }, paint: shinPaint },
      { part: `foot_${side}`, geometry: { kind: 'capsule', a: add(ankle, scaleVec(footDir, rFoot * 0.3)), b: toe, r: rFoot }, paint: shoePaint },
    );
  }

  // Torso: shirt above the waist, trousers below; the shirt leans with the upper body.
  const sw = shoulderHalf;
  const hw = hipHalf;
  const waistY = -uniform(rng, 0.1, 0.15) * u;
  const w = (f: number) => f * u;
  const shirt: Point[] = [
    [-(sw + w(0.026)), -torsoLen - w(0.006)],
    [-w(0.045), -torsoLen - w(0.022)],
    [w(0.045), -torsoLen - w(0.022)],
    [sw + w(0.026), -torsoLen - w(0.006)],
    [sw + w(0.03), -torsoLen + w(0.05)],
    [hw + w(0.025), waistY + w(0.012)],
    [-(hw + w(0.025)), waistY + w(0.012)],
    [-(sw + w(0.03)), -torsoLen + w(0.05)],
  ].map((p) => upper(p as Point));
  const pants: Point[] = [
    upper([-(hw + w(0.024)), waistY - w(0.01)]),
    upper([hw + w(0.024), waistY - w(0.01)]),
    [hw + rThigh * 0.95, 0],
    [hw + rThigh * 0.6, w(0.05)],
    [0, w(0.065)],
    [-(hw + rThigh * 0.6), w(0.05)],
    [-(hw + rThigh * 0.95), 0],
  ];

  // Neck and head.
  const neckBase = upper([0, -torsoLen + w(0.01)]);
  const headAngle = lean + headTilt;
  const headC = add(upper([0, -torsoLen - w(0.03)]), rot([0, -headRy], headAngle));
  const headPt = (x: number, y: number): Point => add(headC, rot([x, y], headAngle));
  const neckTop = headPt(0, headRy * 0.3);
  const neck: FigurePrimitive = { part: 'neck', geometry: { kind: 'capsule', a: neckBase, b: neckTop, r: 0.027 * u * build }, paint: skinPaint };
  const head: FigurePrimitive = { part: 'head', geometry: { kind: 'ellipse', c: headC, rx: headRx, ry: headRy, angle: headAngle }, paint: skinPaint };

  const earsBehind: FigurePrimitive[] = [];
  const faceFront: FigurePrimitive[] = [];
  const hairPrims: FigurePrimitive[] = [];
  const earPaint = paint(look.skin, 0.7);
  const earIdx = { left: 3, right: 4 };
  const eyeIdx = { left: 1, right: 2 };
  for (const side of sides) {
    const s = lat(side);
    if (facingViewer) {
      const phi = yaw + s * 90 * DEG;
      const c = Math.cos(phi);
      const pos = headPt(headRx * Math.sin(phi) * 1.02, headRy * (0.05 + pitch * 0.5));
      keypoints[earIdx[side]] = pos;
      const ear: FigurePrimitive = {
        part: 'head',
        geometry: { kind: 'ellipse', c: pos, rx: headRx * 0.2 * Math.max(0.5, Math.abs(c)) + headRx * 0.06, ry: headRy * 0.28, angle: headAngle },
        paint: earPaint,
      };
      if (c > 0.05) faceFront.push(ear);
      else if (c > -0.3) earsBehind.push(ear);
      else status[earIdx[side]] = 'selfHidden';
    } else {
      const pos = headPt(s * headRx * 0.98, headRy * 0.05);
      keypoints[earIdx[side]] = pos;
      earsBehind.push({ part: 'head', geometry: { kind: 'ellipse', c: pos, rx: headRx * 0.22, ry: headRy * 0.28, angle: headAngle }, paint: earPaint });
    }
  }
  const hair = look.hair;
  if (facingViewer) {
    const eyeColor = hex(pick(rng, [[30, 20, 10], [40, 60, 90], [20, 70, 40], [10, 10, 10]] as RgbColor[]));
    for (const side of sides) {
      const phi = yaw + lat(side) * 30 * DEG;
      const pos = headPt(headRx * Math.sin(phi), headRy * (-0.1 + pitch));
      keypoints[eyeIdx[side]] = pos;
      if (Math.cos(phi) > 0.25) {
        const squash = Math.max(0.35, Math.cos(phi));
        faceFront.push({
          part: 'head',
          geometry: { kind: 'ellipse', c: pos, rx: headRx * 0.17 * squash, ry: headRy * 0.09, angle: headAngle },
          paint: { fill: '#f4f4f0', stroke: hex(shade(look.skin, 0.5)), strokeWidth: outline * 0.6 },
        });
        faceFront.push({
          part: 'head',
          geometry: { kind: 'ellipse', c: pos, rx: headRx * 0.08 * squash, ry: headRy * 0.075, angle: headAngle },
          paint: { fill: eyeColor },
        });
      } else {
        status[eyeIdx[side]] = 'selfHidden';
      }
    }
    const nose = headPt(headRx * Math.sin(yaw) * 1.04, headRy * (0.22 + pitch));
    keypoints[0] = nose;
    faceFront.push({
      part: 'head',
      geometry: { kind: 'ellipse', c: nose, rx: headRx * 0.11, ry: headRy * 0.09, angle: headAngle },
      paint: { fill: hex(shade(look.skin, 0.78)), stroke: hex(shade(look.skin, 0.55)), strokeWidth: outline * 0.5 },
    });
    const mouthC = headPt(headRx * Math.sin(yaw) * 0.95, headRy * (0.52 + pitch * 0.8));
    const mouthHalf = headRx * 0.28 * Math.cos(yaw);
    faceFront.push({
      part: 'head',
      geometry: { kind: 'capsule', a: add(mouthC, rot([-mouthHalf, 0], headAngle)), b: add(mouthC, rot([mouthHalf, 0], headAngle)), r: headRy * 0.04 },
      paint: { fill: hex([150, 50, 50]) },
    });
    if (hair !== null) {
      // A cap over the top of the head, with a fringe line above the eyes.
      const cap: Point[] = [];
      const a = 0.12;
      const n = 10;
      for (let i = 0; i <= n; i++) {
        const t = Math.PI - a + ((Math.PI + 2 * a) * i) / n;
        cap.push(headPt(headRx * 1.06 * Math.cos(t), headRy * 1.06 * Math.sin(t)));
      }
      const fringe = uniform(rng, 0.35, 0.6);
      for (let i = n; i >= 0; i--) {
        const t = Math.PI - a + ((Math.PI + 2 * a) * i) / n;
        cap.push(headPt(headRx * 0.96 * Math.cos(t), headRy * (-0.3 + fringe * Math.sin(t))));
      }
      hairPrims.push({ part: 'head', geometry: { kind: 'polygon', points: cap }, paint: paint(hair, 0.7) });
    }
  } else {
    status[0] = 'unlabelled';
    status[1] = 'unlabelled';
    status[2] = 'unlabelled';
    const hairColor = hair ?? look.skin;
    hairPrims.push({
      part: 'head',
      geometry: { kind: 'ellipse', c: headPt(0, -headRy * 0.04), rx: headRx * 1.03, ry: headRy * 1.0, angle: headAngle },
      paint: paint(hairColor, 0.7),
    });
  }

  // Draw order: arms behind the torso, legs, neck, torso, head, arms in front.
  const legOrder: Side[] = chance(rng, 0.5) ? ['left', 'right'] : ['right', 'left'];
  const primitives: FigurePrimitive[] = [
    ...sides.filter((sd) => armBehind[sd]).flatMap((sd) => armPrims[sd]),
    ...legOrder.flatMap((sd) => legPrims[sd]),
    neck,
    { part: 'torso', geometry: { kind: 'polygon', points: pants }, paint: pantsPaint },
    { part: 'torso', geometry: { kind: 'polygon', points: shirt }, paint: shirtPaint },
    ...earsBehind,
    head,
    ...hairPrims,
    ...faceFront,
    ...(randSign(rng) > 0 ? sides : [...sides].reverse()).filter((sd) => !armBehind[sd]).flatMap((sd) => armPrims[sd]),
  ];
  return { height, keypoints, status, primitives, facingViewer };
}

function transformGeometry(g: Geometry, t: (p: Point) => Point, angle: number): Geometry {
  switch (g.kind) {
    case 'capsule':
      return { kind: 'capsule', a: t(g.a), b: t(g.b), r: g.r };
    case 'ellipse':
      return { kind: 'ellipse', c: t(g.c), rx: g.rx, ry: g.ry, angle: g.angle + angle };
    case 'polygon':
      return { kind: 'polygon', points: g.points.map(t) };
  }
}

function drawPrimitive(g: Geometry, paint: Paint): DrawnShape {
  switch (g.kind) {
    case 'capsule':
      return capsuleShape(g.a, g.b, g.r, paint);
    case 'ellipse':
      return ellipseShape(g.c, g.rx, g.ry, g.angle, paint);
    case 'polygon':
      return polygonShape(g.points, paint);
  }
}

/**
 * Rotates a figure about its pelvis and moves the pelvis to `placement.translation`.
 * @returns keypoints `[17][2]` and shapes in image coordinates
 */
export function placeFigure(fig: LocalFigure, placement: FigurePlacement): PlacedFigure {
  const { rotation, translation } = placement;
  const t = (p: Point): Point => add(rot(p, rotation), translation);
  const shapes: FigureShape[] = fig.primitives.map((prim) => ({
    ...drawPrimitive(transformGeometry(prim.geometry, t, rotation), prim.paint),
    part: prim.part,
  }));
  return {
    height: fig.height,
    keypoints: fig.keypoints.map(t),
    status: [...fig.status],
    shapes,
    bounds: unionBounds(shapes.map((s) => geometryBounds(s.geometry))),
  };
}

/** Tight box of a figure in its own frame rotated by `rotation` (pelvis at the origin). */
export function rotatedFigureBounds(fig: LocalFigure, rotation: number): Bounds {
  return placeFigure(fig, { rotation, translation: [0, 0] }).bounds;
}
