import { pipelineBenchmark } from './pipeline.ts';
const r = await pipelineBenchmark.run({ warmupMs: 1000, durationMs: Number(process.env.D ?? 1000) });
console.log(JSON.stringify(r, null, 1));
