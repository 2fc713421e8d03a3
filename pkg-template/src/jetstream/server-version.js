// Which nats-server versions can hold a replicated stream of the store. The
// version rule rests on the server enforcing a publish's expected last subject
// sequence; in clustered (replicated) streams older servers did not always:
//   - nats-server issue 4320: concurrent publishes with the same expected last
//     subject sequence could both be accepted (fixed by PR 4319, in 2.9.21 and 2.10.0);
//   - nats-server issue 5644: an expected last subject sequence of 0 (an actor's
//     first event) was not checked before the message was proposed to the replicas
//     (fixed by PR 5794, in 2.10.19, August 2024; no 2.9 release has it).
// So a replicated stream needs 2.10.19 or later. A stream with one replica is
// safe on any server with JetStream. No imports: the tests load this module directly.

/** The first nats-server release with both fixes. */
export const MIN_REPLICATED_VERSION = '2.10.19';

/**
 * `{ major, minor, patch, prerelease }` of a version such as "2.10.19",
 * "v2.11.0-RC.2" or "2.12.1-binary", or `undefined` when it is not one.
 */
export function parseServerVersion(version) {
  if (typeof version !== 'string') return undefined;
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(version.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]), prerelease: match[4] ?? '' };
}

/** Whether a version's suffix marks a pre-release of it ("2.10.19-RC.1", "-beta", "-preview.2"), which comes before the release. */
function isPrerelease(prerelease) {
  return /^(rc|alpha|beta|preview|dev|pre)\b/i.test(prerelease);
}

/**
 * Compares two parsed versions: negative, 0 or positive. A pre-release sorts
 * before its release; other suffixes (build names) are ignored.
 */
export function compareServerVersions(a, b) {
  for (const part of ['major', 'minor', 'patch']) {
    if (a[part] !== b[part]) return a[part] - b[part];
  }
  return Number(!isPrerelease(a.prerelease)) - Number(!isPrerelease(b.prerelease));
}

/**
 * Why a server of `version` must not hold a replicated stream of the store, or
 * `undefined` when it may. A version that cannot be read is refused too: the
 * store cannot tell that the server enforces the version rule.
 */
export function replicatedStreamRefusal(version) {
  const parsed = parseServerVersion(version);
  if (parsed === undefined) {
    return `the server's version (${JSON.stringify(version)}) cannot be read, so it cannot be known to enforce the version rule on a replicated stream; nats-server ${MIN_REPLICATED_VERSION} or later is needed`;
  }
  if (compareServerVersions(parsed, parseServerVersion(MIN_REPLICATED_VERSION)) < 0) {
    return `nats-server ${version} does not enforce the expected last subject sequence on replicated streams (nats-server issues 4320 and 5644: two writers could both store one version); a replicated stream needs nats-server ${MIN_REPLICATED_VERSION} or later`;
  }
  return undefined;
}
