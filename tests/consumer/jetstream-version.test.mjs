// Which nats-server versions may hold a replicated stream of the store: the
// version comparison (pkg-template/src/jetstream/server-version.js, loaded from
// the repository), and a real old nats-server refused (Debian's 2.9.10 at
// /usr/sbin/nats-server, or NATS_OLD_SERVER; skipped when there is none).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const repo = process.env.AETHER_REPO ?? process.cwd();
const { MIN_REPLICATED_VERSION, compareServerVersions, parseServerVersion, replicatedStreamRefusal } = await import(
  pathToFileURL(join(repo, 'pkg-template', 'src', 'jetstream', 'server-version.js'))
);
const { startCluster } = await import(pathToFileURL(join(repo, 'tests', 'nats', 'cluster.mjs')));

describe('jetstream: server versions for replicated streams', () => {
  test('the minimum is 2.10.19: the first release with the fixes of nats-server issues 4320 and 5644', () => {
    assert.equal(MIN_REPLICATED_VERSION, '2.10.19');
  });

  test('versions are read as major.minor.patch, with a v, a pre-release or a build suffix', () => {
    assert.deepEqual(parseServerVersion('2.10.19'), { major: 2, minor: 10, patch: 19, prerelease: '' });
    assert.deepEqual(parseServerVersion('v2.11.0-RC.2'), { major: 2, minor: 11, patch: 0, prerelease: 'RC.2' });
    assert.deepEqual(parseServerVersion(' 2.12.1-binary+abc '), { major: 2, minor: 12, patch: 1, prerelease: 'binary' });
    for (const bad of [undefined, null, 2.1, '', '2.10', '2.10.x', 'nats-server: v2.10.19', '2.10.19.1']) {
      assert.equal(parseServerVersion(bad), undefined, String(bad));
    }
  });

  test('compared numerically, part by part; a pre-release before its release', () => {
    const order = ['2.9.10', '2.9.21', '2.10.0', '2.10.9', '2.10.18', '2.10.19-RC.1', '2.10.19-beta', '2.10.19', '2.10.20', '2.11.0-preview.2', '2.11.0', '2.15.1', '3.0.0'];
    for (let i = 0; i < order.length; i++) {
      for (let j = 0; j < order.length; j++) {
        const [a, b] = [parseServerVersion(order[i]), parseServerVersion(order[j])];
        const expected = ['2.10.19-RC.1', '2.10.19-beta'].includes(order[i]) && ['2.10.19-RC.1', '2.10.19-beta'].includes(order[j]) ? 0 : Math.sign(i - j);
        assert.equal(Math.sign(compareServerVersions(a, b)), expected, `${order[i]} vs ${order[j]}`);
      }
    }
    assert.equal(compareServerVersions(parseServerVersion('2.10.19-binary'), parseServerVersion('2.10.19')), 0, 'a build name is no pre-release');
  });

  test('refused below 2.10.19, and when the version cannot be read, with the reason and the version needed', () => {
    for (const version of ['2.9.10', '2.9.25', '2.10.0', '2.10.18', '2.10.19-RC.3', 'v2.10.18']) {
      const reason = replicatedStreamRefusal(version);
      assert.ok(reason, version);
      assert.match(reason, new RegExp(`nats-server ${version.replace(/\./g, '\\.')} `));
      assert.match(reason, /4320 and 5644/);
      assert.match(reason, /2\.10\.19 or later/);
    }
    for (const version of [undefined, '', 'unknown']) {
      assert.match(replicatedStreamRefusal(version), /cannot be read.*2\.10\.19 or later/);
    }
    for (const version of ['2.10.19', 'v2.10.19', '2.10.20', '2.10.29', '2.11.0', '2.12.1-binary', '2.15.1', '3.0.0']) {
      assert.equal(replicatedStreamRefusal(version), undefined, version);
    }
  });
});

/** An old nats-server to run, with its version: Debian's, or NATS_OLD_SERVER. */
function oldServer() {
  const binary = process.env.NATS_OLD_SERVER ?? '/usr/sbin/nats-server';
  if (!existsSync(binary)) return undefined;
  try {
    const version = /v(\d+\.\d+\.\d+\S*)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1];
    return version && replicatedStreamRefusal(version) ? { binary, version } : undefined;
  } catch {
    return undefined;
  }
}

const old = oldServer();

describe('jetstream: a real cluster of an old nats-server', { skip: old ? false : 'no nats-server older than 2.10.19 here (set NATS_OLD_SERVER)' }, () => {
  test(`nats-server ${old?.version}: a replicated stream is refused (created or existing), one replica is not`, async () => {
    const cluster = await startCluster({ binary: old.binary });
    const admin = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(admin);
      const refused = (error) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, new RegExp(`nats-server ${old.version.replace(/\./g, '\\.')} `));
        assert.match(error.message, /2\.10\.19 or later/);
        return true;
      };
      await assert.rejects(openJetStream({ servers: cluster.urls, stream: 'OLD_CREATED', subjectPrefix: 'old.created', replicas: 3 }), refused);
      await assert.rejects(jsm.streams.info('OLD_CREATED'), (error) => error.code === 10059, 'nothing created');
      await assert.rejects(openJetStream({ servers: cluster.urls, stream: 'OLD_DEFAULT', subjectPrefix: 'old.default' }), refused, 'on a cluster replicas defaults to 3');
      await jsm.streams.add({ name: 'OLD_EXISTING', subjects: ['old.existing.>'], num_replicas: 3 });
      await assert.rejects(openJetStream({ servers: cluster.urls, stream: 'OLD_EXISTING', subjectPrefix: 'old.existing', replicas: 1 }), refused);
      const single = await openJetStream({ connection: admin, stream: 'OLD_SINGLE', subjectPrefix: 'old.single', snapshotBucket: 'OLD_SINGLE_SNAPSHOTS', replicas: 1 });
      assert.equal((await single.saveEvents([{ eventType: 'E', actorId: 'a', version: 1, data: {} }]))[0].version, 1);
      await single.close();
    } finally {
      await admin.close();
      await cluster.close();
    }
  });
});
