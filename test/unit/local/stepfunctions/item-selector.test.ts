// A Distributed Map's ItemSelector applied locally: the fixed fields evaluated once by the
// library, the per-item paths filled in fast, and anything fancier run per item in the library.
import { describe, expect, it } from 'vitest';
import {
  ItemSelectorError,
  planItemSelector,
  selectItems,
  selectItemsInLibrary,
} from '../../../../local/stepfunctions/item-selector.ts';

describe('planItemSelector', () => {
  it('keeps the fields that do not use the item for one evaluation', () => {
    const plan = planItemSelector({
      'index.$': '$$.Map.Item.Index',
      'row.$': '$$.Map.Item.Value',
      'plan.$': '$.plan',
      nested: { 'id.$': '$$.Map.Item.Value.id', fixed: 1 },
    });

    expect(plan.perItem).toBe(false);
    expect(plan.fixedTemplate).toEqual({ 'plan.$': '$.plan', nested: { fixed: 1 } });
  });

  it('marks a selector that uses the item inside an intrinsic function as per item', () => {
    expect(planItemSelector({ 'name.$': "States.Format('row-{}', $$.Map.Item.Index)" }).perItem).toBe(true);
  });
});

describe('selectItems', () => {
  it('fills the item fields into the fixed result, in the order of the template', () => {
    const plan = planItemSelector({
      'index.$': '$$.Map.Item.Index',
      'plan.$': '$.plan',
      nested: { 'id.$': "$$.Map.Item.Value['id']", fixed: 1 },
      list: [{ 'first.$': '$$.Map.Item.Value.tags[0]' }],
    });
    const fixed = { plan: { model: 'm' }, nested: { fixed: 1 }, list: [{}] };

    const selected = selectItems(plan, fixed, [
      { id: 'a', tags: ['x'] },
      { id: 'b', tags: ['y'] },
    ]);

    expect(selected).toEqual([
      { index: 0, plan: { model: 'm' }, nested: { id: 'a', fixed: 1 }, list: [{ first: 'x' }] },
      { index: 1, plan: { model: 'm' }, nested: { id: 'b', fixed: 1 }, list: [{ first: 'y' }] },
    ]);
    expect(Object.keys(selected[0] as object)).toEqual(['index', 'plan', 'nested', 'list']);
  });

  it('fails with States.Runtime when an item path points nowhere', () => {
    const plan = planItemSelector({ 'id.$': '$$.Map.Item.Value.id' });

    expect(() => selectItems(plan, {}, [{ other: 1 }])).toThrow(ItemSelectorError);
    expect(() => selectItems(plan, {}, [{ other: 1 }])).toThrow(
      "Path expression '$$.Map.Item.Value.id' does not point to a value",
    );
  });
});

describe('selectItemsInLibrary', () => {
  it('gives what the library gives for a fancier selector', async () => {
    const template = {
      'name.$': "States.Format('{}-{}', $.prefix, $$.Map.Item.Index)",
      'value.$': '$$.Map.Item.Value',
      'execution.$': '$$.Execution.Name',
    };

    const selected = await selectItemsInLibrary(
      template,
      { prefix: 'row' },
      { Execution: { Name: 'run-1' } },
      ['a', 'b'],
    );

    expect(selected).toEqual([
      { name: 'row-0', value: 'a', execution: 'run-1' },
      { name: 'row-1', value: 'b', execution: 'run-1' },
    ]);
  });
});
