// tsmc's onnxruntime profiler: runs one model with onnxruntime's profiling
// on, on random inputs of the shapes the model declares (symbolic
// dimensions as 1), and prints each node's median kernel time in ms,
// the most expensive first, beside `tsmc bench -profile` for a layer by
// layer comparison:
//
//   node profile.js MODEL.onnx [THREADS] [RUNS]
const fs = require('fs');
const os = require('os');
const path = require('path');
const modules = process.env.ORT_NODE_MODULES || path.join(__dirname, 'node_modules');
const ort = require(path.join(modules, 'onnxruntime-node'));

async function main() {
  const [model, threads = '1', runs = '20'] = process.argv.slice(2);
  if (!model) {
    console.error('usage: node profile.js MODEL.onnx [THREADS] [RUNS]');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsmc-ort-profile-'));
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: +threads, interOpNumThreads: 1,
    enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
  });
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === name) : null;
    const dims = (meta && meta.shape ? meta.shape : []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.random() * 2 - 1;
    feeds[name] = new ort.Tensor('float32', x, dims);
  }
  for (let i = 0; i < +runs; i++) await session.run(feeds);
  session.endProfiling();
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f))[0];
  const times = new Map(); // node -> [op, durations in µs]
  for (const e of JSON.parse(fs.readFileSync(file))) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    if (!times.has(node)) times.set(node, [e.args.op_name, []]);
    times.get(node)[1].push(e.dur);
  }
  fs.rmSync(dir, { recursive: true });
  const rows = [...times].map(([node, [op, d]]) => {
    d.sort((a, b) => a - b);
    return [d[Math.floor(d.length / 2)] / 1000, op, node];
  }).sort((a, b) => b[0] - a[0]);
  console.log(`total ${rows.reduce((s, r) => s + r[0], 0).toFixed(3)} ms per run (sum of node medians, ${runs} runs, ${threads} threads)`);
  for (const [ms, op, node] of rows) console.log(`${ms.toFixed(3).padStart(9)} ms  ${op}  ${node}`);
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
