/**
 * hrnet-tfjs — HRNet keypoint models on TensorFlow.js: configs in the official experiment-YAML
 * layout, the official network with official state-dict names, PyTorch checkpoint import,
 * training, evaluation and export.
 */
export { initBackend } from './backend/select';
export type { BackendInfo, BackendName, InitBackendOptions } from './backend/select';

export { loadConfig, parseConfig, applyOverrides, configToYaml, defaultConfig } from './config/load';
export type { Config, ModelExtra, StageConfig } from './config/schema';

export { PoseHRNet, createPoseHRNet } from './model/pose-hrnet';
export type { PoseHRNetSpec, CreatePoseHRNetOptions, MacCount } from './model/pose-hrnet';

export { readPth, readPthBuffer, readPthObject } from './io/pth';
export type { PthTensor, PthDtype, StateDict } from './io/pth';
export { loadStateDict, modelStateDict, toOfficialStateDict, StateDictError } from './io/state-dict';
export type { LoadStateDictOptions, LoadStateDictReport, OfficialStateDict, StateDictLayout } from './io/state-dict';
export { writePth, pthBytes } from './io/pth-writer';
export type { PthWriteOptions } from './io/pth-writer';
export { saveCheckpoint, saveModelCheckpoint, readCheckpoint, loadModelFromCheckpoint } from './io/checkpoint';

export { jointsMseLoss, jointsOhkmMseLoss } from './train/loss';
export { Adam, SGD, createOptimizer } from './train/optim';
export type { Optimizer, OptimizerState } from './train/optim';

export { createDataset } from './data/create-dataset';
export type { KeypointDataset, DatasetRecord, DatasetSplit } from './data/dataset';
export { JointsDataset, sampleOptionsFromConfig } from './data/joints-dataset';
export { createLoader } from './data/loader';
export type { Batch, DataLoader, LoaderOptions } from './data/loader';
export { renderSyntheticDataset } from './data/synthetic';
export { COCO_META, MPII_META, metaFromCocoCategory } from './data/keypoint-meta';
export type { KeypointMeta } from './data/keypoint-meta';

export { codecOf, codecSpecOf, createCodec, darkCodec, msraCodec, udpCodec } from './codec/codecs';
export type { CodecName, CodecSpec, HeatmapCodec } from './codec/heatmap-codec';
export { getMaxPreds } from './codec/argmax';
export { flipTestAverage, flipTestHeatmaps } from './codec/flip';

export { train } from './train/trainer';
export type { TrainOptions, TrainResult } from './train/trainer';
export { trainStep } from './train/train-step';

export { predictDataset, evaluateCoco } from './eval/evaluate';
export { evaluateCocoKeypoints, formatCocoSummary } from './eval/coco-eval';
export { evaluatePckh, formatPckhTable } from './eval/pckh';

export { buildLayersModel, decodingOfConfig, exportModel, EXPORT_FORMATS } from './io/export';
export type { ExportFormat, ExportModelOptions, ExportResult, HrnetExportMeta } from './io/export';
export { buildOnnxModel } from './io/export-onnx';
export type { NetworkGraph, GraphOp, GraphValue } from './model/graph';
