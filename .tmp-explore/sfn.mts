import '/work/main/local/stepfunctions/promise-with-resolvers.ts';
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
const text = readFileSync('/work/main/statemachines/training.asl.json', 'utf8').replace(/\$\{(\w+)\}/g, (_m, n) => n.endsWith('Arn') ? `arn:aws:lambda:us-east-1:123456789012:function:${n}` : n.toLowerCase());
const sm = new StateMachine(JSON.parse(text), { validationOptions: { checkPaths: true } });
const calls: string[] = [];
const h = (name: string, out: unknown) => async (input: any) => { calls.push(name); return out; };
const run = sm.run({ runId: 'r1', model: 'm', datasetUri: 's3://d/x.json', featureSet: 'flights-v1' } as any, {
  overrides: { taskResourceLocalHandlers: {
    ValidateData: h('ValidateData', { ok: 1 }), Preprocess: h('Preprocess', {}), TrainModel: h('TrainModel', {modelUri:'x'}), BuildTestSet: h('BuildTestSet', {rows:1}),
    Evaluate: h('Evaluate', { gates: { passed: true, failures: [] } }), RegisterModel: h('RegisterModel', { version: 1 }),
    RecordFailure: async (input: any) => { calls.push('RecordFailure ' + JSON.stringify(input.error)); return { subject: 's', message: 'm', error: 'E', cause: 'c' }; },
    PublishFailure: h('PublishFailure', {}),
  } },
});
try { console.log('result', await run.result); } catch (e: any) { console.log('failed', e.name, e.message); }
console.log(calls);
