/**
 * Showing a process one GPU: the device list of Mesa's device-select layer is read, each GPUS entry is
 * matched to a device (identical GPUs in order), and the variables that pin a process to it are chosen.
 */
import { dawnModulePath } from '../../src/backend/webgpu';
import { listVulkanDevices, parseDeviceSelectList, pinGpus, pinningEnvironment, type VulkanDevice } from '../../src/backend/gpu-pinning';

// As the layer printed it here for SwiftShader and llvmpipe, after Dawn's own warnings.
const SOFTWARE_LIST = `Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
selectable devices:
  GPU 0: 1ae0:c0de "SwiftShader Device (Subzero)" CPU
  GPU 1: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU
`;

// Two GPUs of one model and another GPU, in the layer's format for devices with a PCI address.
const HARDWARE_LIST = `selectable devices:
  GPU 0: 10de:2335 "NVIDIA H200" discrete GPU 0000:18:00.0
  GPU 1: 10de:2335 "NVIDIA H200" discrete GPU 0000:2a:00.0
  GPU 2: 10de:20b5 "NVIDIA A100 80GB PCIe" discrete GPU 0000:c1:00.0
  GPU 3: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU
`;

describe('parseDeviceSelectList', () => {
  it('reads ids, names, types and PCI addresses', () => {
    expect(parseDeviceSelectList(SOFTWARE_LIST)).toEqual([
      { index: 0, vendorId: 0x1ae0, deviceId: 0xc0de, name: 'SwiftShader Device (Subzero)', type: 'CPU', pci: undefined },
      { index: 1, vendorId: 0x10005, deviceId: 0, name: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'CPU', pci: undefined },
    ]);
    const hw = parseDeviceSelectList(HARDWARE_LIST) as VulkanDevice[];
    expect(hw.map((d) => [d.name, d.type, d.pci])).toEqual([
      ['NVIDIA H200', 'discrete GPU', 'pci-0000_18_00_0'],
      ['NVIDIA H200', 'discrete GPU', 'pci-0000_2a_00_0'],
      ['NVIDIA A100 80GB PCIe', 'discrete GPU', 'pci-0000_c1_00_0'],
      ['llvmpipe (LLVM 15.0.6, 256 bits)', 'CPU', undefined],
    ]);
  });

  it('says when there is no list (the layer did not run)', () => {
    expect(parseDeviceSelectList('')).toBeUndefined();
    expect(parseDeviceSelectList('Warning: something else\n')).toBeUndefined();
  });
});

describe('pinning', () => {
  const hw = parseDeviceSelectList(HARDWARE_LIST) as VulkanDevice[];
  const sw = parseDeviceSelectList(SOFTWARE_LIST) as VulkanDevice[];

  it('pins by PCI address, else by ids that no other device shares', () => {
    expect(pinningEnvironment(hw[1], hw)).toEqual({ DRI_PRIME: 'pci-0000_2a_00_0!' });
    expect(pinningEnvironment(sw[1], sw)).toEqual({ MESA_VK_DEVICE_SELECT: '10005:0!' });
    expect(pinningEnvironment(sw[0], [sw[0], { ...sw[0], index: 2 }])).toBeUndefined();
  });

  it('matches the k-th adapter of a name to the k-th device of that name', () => {
    const names = hw.map((d) => d.name);
    const got = pinGpus(names, [1, 0, 2], hw);
    expect(got).toEqual({
      pinned: [
        { device: hw[1], env: { DRI_PRIME: 'pci-0000_2a_00_0!' } },
        { device: hw[0], env: { DRI_PRIME: 'pci-0000_18_00_0!' } },
        { device: hw[2], env: { DRI_PRIME: 'pci-0000_c1_00_0!' } },
      ],
    });
    // Dawn may list the adapters in another order than the layer: identical GPUs are interchangeable.
    expect(pinGpus(['NVIDIA A100 80GB PCIe', 'NVIDIA H200', 'NVIDIA H200'], [1, 2], hw)).toEqual({
      pinned: [
        { device: hw[0], env: { DRI_PRIME: 'pci-0000_18_00_0!' } },
        { device: hw[1], env: { DRI_PRIME: 'pci-0000_2a_00_0!' } },
      ],
    });
  });

  it('says why a GPU cannot be pinned', () => {
    expect(pinGpus(['NVIDIA H200'], [1], hw)).toEqual({ reason: 'there is no GPU 1 (Dawn lists 1)' });
    expect(pinGpus(['NVIDIA H200', 'NVIDIA H200', 'NVIDIA H200'], [2], hw)).toEqual({ reason: expect.stringMatching(/^GPU 2 \(NVIDIA H200\) is not in the Vulkan layer's list/) });
    const twinsWithoutPci = [sw[0], { ...sw[0], index: 1 }];
    expect(pinGpus([sw[0].name, sw[0].name], [0, 1], twinsWithoutPci)).toEqual({ reason: expect.stringMatching(/has no PCI address and shares its ids/) });
  });
});

it('says what to do where the layer does not list the devices', async () => {
  // NODEVICE_SELECT=1 turns the layer off wherever it is installed.
  const got = await listVulkanDevices(dawnModulePath(), { ...process.env, NODEVICE_SELECT: '1' });
  expect(got).toEqual({ reason: "Mesa's device-select Vulkan layer is turned off (NODEVICE_SELECT=1)" });
}, 60000);
