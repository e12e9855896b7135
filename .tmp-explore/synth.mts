import { synthStack } from '/work/main/test/infra/synth-stack.ts';
const t0 = Date.now();
const { template } = synthStack();
console.log('synth ms', Date.now() - t0);
const j = template.toJSON();
for (const [id, r] of Object.entries<any>(j.Resources)) {
  if (r.Type === 'AWS::StepFunctions::StateMachine') console.log(id, JSON.stringify({ ...r.Properties, DefinitionString: '…' }, null, 1));
  if (r.Type === 'AWS::Lambda::Function') console.log(id, r.Properties.Description, JSON.stringify(r.Properties.Environment?.Variables));
}
const sm = Object.values<any>(j.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
const roleId = sm.Properties.RoleArn['Fn::GetAtt'][0];
for (const [id, r] of Object.entries<any>(j.Resources)) if (r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId)) console.log(id, JSON.stringify(r.Properties.PolicyDocument.Statement, null, 1));
console.log(JSON.stringify(j.Outputs, null, 1));
