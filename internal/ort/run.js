// tsmc's onnxruntime runner: runs one ONNX model on raw little-endian
// float32 inputs, writes the outputs as raw float32 files and prints timing
// as one JSON line.
//
//   node run.js REQUEST.json
//
// REQUEST.json: {"model": path, "inputs": [{"name", "shape", "file"}],
//                "out_dir": path, "threads": N, "warmup": W, "iters": K,
//                "feedback": {"output name": "input name", ...}}
// With feedback, each timed run feeds the named outputs of the previous run
// back as inputs (the online model's shift buffers).
const fs = require('fs');
const path = require('path');
const modules = process.env.ORT_NODE_MODULES || path.join(__dirname, 'node_modules');
const ort = require(path.join(modules, 'onnxruntime-node'));

function readFloats(file) {
  const b = fs.readFileSync(file);
  const copy = new Float32Array(b.length / 4);
  new Uint8Array(copy.buffer).set(b);
  return copy;
}

async function main() {
  const req = JSON.parse(fs.readFileSync(process.argv[2]));
  const opts = { graphOptimizationLevel: 'all', executionMode: 'sequential' };
  if (req.threads > 0) {
    opts.intraOpNumThreads = req.threads;
    opts.interOpNumThreads = 1;
  }
  const loadStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(req.model, opts);
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  let feeds = {};
  for (const inp of req.inputs) {
    feeds[inp.name] = new ort.Tensor('float32', readFloats(inp.file), inp.shape);
  }
  const feedback = req.feedback || {};
  const step = async () => {
    const out = await session.run(feeds);
    for (const [o, i] of Object.entries(feedback)) feeds[i] = out[o];
    return out;
  };
  let out = await session.run(feeds);
  const first = out;
  for (let i = 0; i < (req.warmup || 0); i++) out = await step();
  const times = [];
  for (let i = 0; i < (req.iters || 0); i++) {
    const t = process.hrtime.bigint();
    out = await step();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  if (req.out_dir) {
    fs.mkdirSync(req.out_dir, { recursive: true });
    for (const [name, t] of Object.entries(first)) {
      fs.writeFileSync(path.join(req.out_dir, name + '.raw'),
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({
    load_ms: loadMs,
    median_ms: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
    min_ms: sorted.length ? sorted[0] : null,
    iters: times.length,
    threads: req.threads || 0,
    times_ms: times,
  }));
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
