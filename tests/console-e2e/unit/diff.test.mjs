// Config version comparison and the plan size (src/console/assets/diff.js, program.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparePointers, diff, flatten } from '../../../src/console/assets/diff.js';
import { countResources, planSize, resourcesAfter } from '../../../src/console/assets/program.js';

test('flattening names every leaf by its JSON pointer, escaping ~ and /', () => {
  const flat = flatten({ a: { 'b/c': [1, { d: null }] }, e: {}, 'f~': [] });
  assert.deepEqual([...flat], [['/a/b~1c/0', '1'], ['/a/b~1c/1/d', 'null'], ['/e', '{}'], ['/f~0', '[]']]);
});

test('a diff lists added, removed and changed fields in pointer order', () => {
  const from = { eks: { node_groups: [{ scaling: { desired_size: 2 } }] }, tags: { a: '1' }, list: Array.from({ length: 11 }, (_, i) => i) };
  const to = { eks: { node_groups: [{ scaling: { desired_size: 3 } }] }, tags: { b: '2' }, list: [...from.list.slice(0, 10), 99] };
  assert.deepEqual(diff(from, to), [
    { pointer: '/eks/node_groups/0/scaling/desired_size', kind: 'changed', from: '2', to: '3' },
    { pointer: '/list/10', kind: 'changed', from: '10', to: '99' },
    { pointer: '/tags/a', kind: 'removed', from: '"1"', to: undefined },
    { pointer: '/tags/b', kind: 'added', from: undefined, to: '"2"' },
  ]);
  assert.deepEqual(diff(from, from), []);
  assert.ok(comparePointers('/a/2', '/a/10') < 0);
});

const program = `config:
  externalId:
    secret: true
name: byoc-platform
outputs:
  vpcId: \${vpc.id}
resources:
  awsProvider:
    type: pulumi:providers:aws
    properties:
      region: us-east-1
  "quoted-name":
    type: aws:ec2/vpc:Vpc
  vpc:
    type: aws:ec2/vpc:Vpc
runtime: yaml
`;

test('the plan of a deploy is every resource of the program and the stack', () => {
  assert.equal(countResources(program), 3);
  assert.equal(planSize('update', program), 4);
  assert.equal(planSize('preview', program), 4);
  assert.equal(planSize('destroy', program), null);
  assert.equal(countResources('name: x\n'), null);
  assert.equal(resourcesAfter({ create: 3, same: 2, delete: 4 }), 5);
});
