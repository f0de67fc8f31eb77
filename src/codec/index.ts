/**
 * Keypoints ⇄ heatmaps: the heatmap codecs (official `msra`, `dark`, `udp`), their crop geometry, targets,
 * decoding and flip test. Free of Node-only modules, so a web page can bundle it.
 */
export * from './affine';
export * from './argmax';
export * from './codecs';
export * from './decode';
export * from './flip';
export * from './heatmap-codec';
export * from './layout';
export * from './refine';
export * from './targets';
export * from './describe';
