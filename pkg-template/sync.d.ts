// Type declarations for aether-eventstore/sync: offline-first sync of a local
// store with a remote one.
import type { Event, EventStore, NewEvent } from 'aether-eventstore';

/** How a sync stands: connecting, syncing (`online`), unable to reach the remote (`offline`), or stopped. */
export type SyncStatus = 'connecting' | 'online' | 'offline' | 'stopped';

/** A conflict: the remote holds other events at versions that some of the actor's pending events held. */
export interface SyncConflict<E extends Event = Event> {
  actorId: string;
  /** The actor's pending events that lost their versions, and those after them, oldest first. */
  pending: E[];
  /** The remote's events that took those versions. */
  remote: E[];
}

/**
 * What becomes of a conflict's pending events: `'rebase'` keeps them, renumbered after the remote's
 * latest version (same ids and data); `'discard'` drops them; events replace them (the actor's, at
 * versions after the remote's latest). Dropped and replaced events are kept in `rejected()`.
 */
export type ConflictDecision = 'rebase' | 'discard' | NewEvent[];

/** Options of `startSync`. */
export interface SyncOptions<E extends Event = Event> {
  /** Decides each conflict; default: `'rebase'`, which suits only events whose order does not matter. */
  onConflict?: (conflict: SyncConflict<E>) => ConflictDecision | Promise<ConflictDecision>;
  /** The actors to sync (default all); the others' events stay local, confirmed at once. */
  filter?: (actorId: string) => boolean;
}

/** A pending event that a conflict or the remote's refusal took out, and why. */
export interface Rejection<E extends Event = Event> {
  event: E;
  reason: string;
}

/** The sync of a local store with a remote one. */
export declare class Sync<E extends Event = Event> {
  private constructor();
  /** How the sync stands now. */
  readonly status: SyncStatus;
  /** The error of the last round that failed (the remote unreachable, ...), `null` after one that succeeded. */
  readonly lastError: unknown;
  /** Calls `listener` with each new status; returns the function that stops it. */
  onStatus(listener: (status: SyncStatus) => unknown): () => void;
  /** Calls `listener` after the pending or rejected events changed (a save in any tab, a push accepted, a conflict). */
  onChange(listener: () => unknown): () => void;
  /** Events saved locally and not yet accepted by the remote, in local order; with `actorId`, that actor's. */
  pendingEvents(actorId?: string): Promise<E[]>;
  /** Pending events that a conflict (or the remote's refusal) took out, oldest first. */
  rejected(): Promise<E[]>;
  /** Like `rejected()`, with the reason of each. */
  rejections(): Promise<Rejection<E>[]>;
  /** Resolves once nothing is pending and every event the remote held when it was called has been pulled. */
  flushed(): Promise<void>;
  /** Stops syncing here; the store stays synced (its saves stay pending until a sync pushes them). */
  stop(): Promise<void>;
}

/**
 * Starts syncing `local` (in memory, IndexedDB or a directory) with `remote` (an EventStore, such as
 * one on JetStream, or a function that resolves to one, called when the sync connects). Every tab
 * or instance on the same database may call it: one of them syncs at a time.
 */
export declare function startSync<E extends Event = Event>(
  local: EventStore,
  remote: EventStore | (() => Promise<EventStore>),
  options?: SyncOptions<E>,
): Sync<E>;
