/**
 * The description a model gives of itself (`PoseHRNet.describe`), checked against its state before
 * an export reads it: every weight variable of the description is the model's variable of the same
 * state-dict key, and every variable of the model is used by the description. An export therefore
 * holds exactly the model's weights, under their official names.
 */
import type { NetworkGraph } from '../model/graph';
import type { PoseHRNet } from '../model/pose-hrnet';

/**
 * `model.describe()`, after checking that it covers the model's variables one to one.
 * @throws an error naming the first key that is described but not in the model, or in the model but not described
 */
export function describeForExport(model: PoseHRNet): NetworkGraph {
  const graph = model.describe();
  const described = new Set<string>();
  for (const { key, variable } of graph.variables()) {
    if (!model.params.hasVariable(key) || model.params.get(key) !== variable) {
      throw new Error(`export: the network's description uses ${key}, which is not the model's variable of that name`);
    }
    described.add(key);
  }
  for (const e of model.params.list()) {
    if (!described.has(e.name)) {
      throw new Error(`export: the model has ${e.name}, which the network's description does not use (its modules and its weights disagree)`);
    }
  }
  return graph;
}
