/**
 * Where states live on disk, and how a write is made durable. This package knows nothing
 * of HTTP; it could be lifted into a library.
 *
 * <h2>Layout</h2>
 *
 * <pre>
 * &lt;data-dir&gt;/
 *   statekeeper.lock                    one process per data dir (fcntl lock, never opened for anything else)
 *   states/&lt;name&gt;/current.json          the committed version (or a tombstone after DELETE)
 *   states/&lt;name&gt;/versions/&lt;rev&gt;.json   earlier versions, the newest backups-kept of them
 *   states/&lt;name&gt;/.tmp-&lt;rev&gt;-&lt;random&gt;  an in-flight write; removed at start-up
 *   states/&lt;name&gt;/damaged-&lt;rev&gt;        empty: start-up found current.json damaged (held or unrecoverable)
 *   locks/&lt;name&gt;.json                   a state's lock ({@link io.statekeeper.storage.LockFiles}), same recipe
 *   quarantine/&lt;name&gt;/&lt;time&gt;-…          damaged files moved aside, never deleted
 * </pre>
 *
 * Files are created {@code 0600} and directories {@code 0700}, whatever the umask: states
 * routinely hold secrets. The version file format is described on {@link VersionFormat};
 * every file is one JSON header line followed by the exact bytes the client sent, so
 * {@code head -1 current.json | jq .} shows the header and
 * {@code tail -n +2 current.json | jq .} the state.
 *
 * <h2>The durable write recipe</h2>
 * <ol>
 * <li>The input is validated completely before anything touches the disk (by the
 * caller).</li>
 * <li>Free space: at least twice the file's size plus {@code min-free-space}, or the
 * write is refused ({@code NO_SPACE}) with nothing written.</li>
 * <li>{@code .tmp-<rev>-<random>} is created in the state's own directory,
 * {@code O_EXCL}, mode 0600 from creation.</li>
 * <li>Header and body are written in a loop until nothing remains (a short write precedes
 * {@code ENOSPC}), then {@code fsync}ed on the same descriptor and closed.</li>
 * <li>The temp file is read back and compared, byte for byte, with what was written. A
 * caller's last word runs here (a large body's validation ran alongside the steps so far;
 * an invalid body abandons the write like any failure before the rename).</li>
 * <li>The previous version is kept: {@code current.json} is hard-linked to
 * {@code versions/<prev-rev>.json} (copied, fsynced and renamed where links are
 * unsupported).</li>
 * <li>{@code rename(temp, current.json)}: atomic; there is no non-atomic fallback.</li>
 * <li>The state directory is fsynced, and {@code versions/} at the same time (on a
 * journalled file system both wait for one commit; without a journal their writes
 * overlap), and {@code states/} for a new state.</li>
 * <li>Only now is the write acknowledged; then versions beyond {@code backups-kept} are
 * pruned (not fsynced: a pruned file that reappears after a crash is pruned again),
 * except those a {@link io.statekeeper.storage.VersionRetention} holds back (a version
 * whose header is still the only durable record of its audit entry).</li>
 * </ol>
 * A failure in steps 2 to 7 removes the temp file and leaves the committed state as it
 * was: the store stays writable. A failure in step 8 is different: the rename happened
 * but whether it is durable is unknown, and a second fsync may report success after the
 * kernel dropped the dirty pages. So the write is not acknowledged, the fsync is not
 * retried, and the store refuses every further write until a restart has re-verified it
 * from disk.
 *
 * <h2>What we assume of the file system</h2>
 * <ul>
 * <li>{@code rename(2)} within one directory is atomic: after a crash, the name points to
 * the old file or the new one, never to a mix (POSIX; ext4, XFS, btrfs, tmpfs).</li>
 * <li>{@code fsync(2)} on a file makes its data durable, and on a directory makes the
 * names in it durable; a failed {@code fsync} may have lost data, so it is never retried
 * as if it had succeeded.</li>
 * <li>Data that was not fsynced may be lost, partly kept or reordered by a crash; the
 * header's size, CRC and SHA-256 catch every such result, so only fsynced, verified files
 * are ever served.</li>
 * <li>The disk does not lie about fsync. If it does (a write cache without power-loss
 * protection), a crash can still lose acknowledged writes; start-up verification then
 * finds the damage and quarantines it, but cannot bring the lost bytes back.</li>
 * </ul>
 *
 * <h2>Start-up recovery</h2> Every {@code current.json} and every kept version is
 * verified before the service answers. Leftover temp files are removed. A damaged file is
 * moved to {@code quarantine/} (never deleted), counted and logged at WARN. A state whose
 * current version is damaged is held (policy {@code hold}) until an admin restores a kept
 * version, or the newest valid version is promoted as a new revision (policy
 * {@code restore-previous}); with no valid version left it is reported unrecoverable.
 * Before its damaged current version is moved, a held or unrecoverable state gets an
 * empty {@code damaged-<rev>} mark, so that later start-ups still know it and its
 * revision counter; an I/O error while reading a state stops start-up instead, with
 * nothing quarantined (the disk failed, not necessarily the file).
 */
package io.statekeeper.storage;
