import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const validator = require('asl-validator');
const text = readFileSync('/work/main/statemachines/training.asl.json', 'utf8').replace(/\$\{(\w+)\}/g, (_m, n) => n.endsWith('FunctionArn') ? `arn:aws:lambda:us-east-1:123456789012:function:${n}` : n.endsWith('TopicArn') ? 'arn:aws:sns:us-east-1:123456789012:alarms' : n.endsWith('RoleArn') ? 'arn:aws:iam::123456789012:role/sm' : 'my-artifacts-bucket');
console.log(JSON.stringify(validator(JSON.parse(text)), null, 1).slice(0, 3000));
const broken = JSON.parse(text); delete broken.States.Preprocess.Next;
console.log(JSON.stringify(validator(broken)).slice(0, 500));
