import { synthStack } from '/work/main/test/infra/synth-stack.ts';
const { template } = synthStack();
const j = template.toJSON();
for (const id of ['TrainingPipelineValidateData5691A370', 'TrainingPipelineRegisterModelCC7A1023', 'TrainingPipelineRecordFailureC324AD83']) {
  const roleId = j.Resources[id].Properties.Role['Fn::GetAtt'][0];
  for (const [pid, r] of Object.entries<any>(j.Resources)) if (r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId)) console.log(id, pid, JSON.stringify(r.Properties.PolicyDocument.Statement));
  console.log(JSON.stringify(j.Resources[roleId].Properties.ManagedPolicyArns));
}
