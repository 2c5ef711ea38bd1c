// The spec reporter of node --test, but for tests marked TODO: those are
// known differences (server-memory's quirks, features to come), and their
// failure is expected.  The spec reporter lists a failing TODO test under
// "failing tests" with its assertion trace, so that a passing run reads as
// a failing one; here each is one line, saying whether it failed as
// expected or passes now.  Real failures are reported as before.
//
//     node --test --test-reporter=./reporter.mjs ...

import { Readable } from 'node:stream';
import { spec } from 'node:test/reporters';

async function* todoAsOneLine(source) {
  for await (const event of source) {
    const { type, data } = event;

    if ((type === 'test:fail' || type === 'test:pass')
        && data.todo !== undefined && data.todo !== false) {
      const why = typeof data.todo === 'string' ? `: ${data.todo}` : '';
      const verdict = type === 'test:fail' ? 'fails as expected'
                                           : 'passes now';
      yield { type: 'test:pass',
              data: { ...data, todo: `TODO, ${verdict}${why}` } };
      continue;
    }

    yield event;
  }
}

export default async function* reporter(source) {
  yield* Readable.from(todoAsOneLine(source)).pipe(new spec());
}
