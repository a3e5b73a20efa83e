package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The crash model of {@link CrashStateEnumerationIT}, as test support: the seam that
 * records every mutating file-system operation ({@link RecordingIo}), and a POSIX-like
 * persistence model ({@link Model}) that replays a trace up to a crash point and
 * generates the states the disk could be in. Unsynced file data may be lost, kept or
 * (appends) partly kept; unsynced directory entries may each be lost or kept; a rename is
 * atomic; an fsync is a barrier.
 */
final class CrashModel {

	private CrashModel() {
	}

	// ------------------------------------------------------------------ recording

	/** One mutating file-system operation, or an acknowledgement marker. */
	record Event(String type, String path, String path2, long offset, byte[] bytes, String state, byte[] content,
			boolean tombstone) {

		static Event op(String type, String path, String path2, long offset, byte[] bytes) {
			return new Event(type, path, path2, offset, bytes, null, null, false);
		}

	}

	static final class RecordingIo extends StorageIo {

		// the repository fsyncs two directories from two threads
		final List<Event> events = java.util.Collections.synchronizedList(new ArrayList<>());

		final Map<FileChannel, String> channels = new ConcurrentHashMap<>();

		private final Path base;

		boolean recording;

		RecordingIo(Path base) {
			this.base = base;
		}

		private String rel(Path path) {
			return this.base.relativize(path.toAbsolutePath().normalize()).toString();
		}

		private void add(Event event) {
			if (this.recording) {
				this.events.add(event);
			}
		}

		@Override
		public FileChannel createNew(Path file) throws IOException {
			FileChannel channel = super.createNew(file);
			this.channels.put(channel, rel(file));
			add(Event.op("CREATE", rel(file), null, 0, null));
			return channel;
		}

		@Override
		public int write(FileChannel channel, ByteBuffer buffer) throws IOException {
			long position = channel.position();
			ByteBuffer copy = buffer.duplicate();
			int written = super.write(channel, buffer);
			byte[] bytes = new byte[written];
			copy.get(bytes);
			add(Event.op("WRITE", this.channels.get(channel), null, position, bytes));
			return written;
		}

		@Override
		public void force(FileChannel channel) throws IOException {
			super.force(channel);
			add(Event.op("FSYNC", this.channels.get(channel), null, 0, null));
		}

		@Override
		public void link(Path link, Path existing) throws IOException {
			super.link(link, existing);
			add(Event.op("LINK", rel(link), rel(existing), 0, null));
		}

		@Override
		public void move(Path source, Path target) throws IOException {
			super.move(source, target);
			add(Event.op("RENAME", rel(source), rel(target), 0, null));
		}

		@Override
		public void fsyncDirectory(Path directory) throws IOException {
			super.fsyncDirectory(directory);
			add(Event.op("FSYNC_DIR", rel(directory), null, 0, null));
		}

		@Override
		public boolean delete(Path file) throws IOException {
			boolean deleted = super.delete(file);
			if (deleted) {
				add(Event.op("UNLINK", rel(file), null, 0, null));
			}
			return deleted;
		}

		@Override
		public boolean createDirectory(Path directory) throws IOException {
			boolean created = super.createDirectory(directory);
			if (created) {
				add(Event.op("MKDIR", rel(directory), null, 0, null));
			}
			return created;
		}

		void acknowledge(String state, byte[] content, boolean tombstone) {
			add(new Event("ACK", null, null, 0, null, state, content, tombstone));
		}

		void begin(String state, byte[] content, boolean tombstone) {
			add(new Event("BEGIN", null, null, 0, null, state, content, tombstone));
		}

	}

	// ------------------------------------------------------------------ the persistence
	// model

	/** A directory entry: a file's inode, or a directory (inode -1). */
	static final int DIR = -1;

	/**
	 * One change to a directory's entries not yet made durable: names set to inodes
	 * (null: removed).
	 */
	record DirOp(String dir, Map<String, Integer> changes) {

	}

	static final class Model {

		final Map<String, Integer> durable = new TreeMap<>();

		final Map<String, Integer> live = new TreeMap<>();

		final List<DirOp> pending = new ArrayList<>();

		final Map<Integer, byte[]> durableData = new HashMap<>();

		final Map<Integer, byte[]> liveData = new HashMap<>();

		int nextInode = 1;

		Model(Map<String, Integer> initial) {
			this.durable.putAll(initial);
			this.live.putAll(initial);
		}

		static String parent(String path) {
			int slash = path.lastIndexOf('/');
			return (slash < 0) ? "" : path.substring(0, slash);
		}

		void apply(Event event) {
			switch (event.type()) {
				case "CREATE" -> {
					int inode = this.nextInode++;
					this.liveData.put(inode, new byte[0]);
					this.durableData.put(inode, new byte[0]);
					change(event.path(), inode);
				}
				case "MKDIR" -> change(event.path(), DIR);
				case "WRITE" -> {
					int inode = this.live.get(event.path());
					byte[] data = this.liveData.get(inode);
					int end = (int) event.offset() + event.bytes().length;
					byte[] grown = Arrays.copyOf(data, Math.max(data.length, end));
					System.arraycopy(event.bytes(), 0, grown, (int) event.offset(), event.bytes().length);
					this.liveData.put(inode, grown);
				}
				case "FSYNC" -> {
					int inode = this.live.get(event.path());
					this.durableData.put(inode, this.liveData.get(inode).clone());
				}
				case "LINK" -> change(event.path(), this.live.get(event.path2()));
				case "RENAME" -> {
					Map<String, Integer> changes = new LinkedHashMap<>();
					changes.put(event.path(), null);
					changes.put(event.path2(), this.live.get(event.path()));
					this.live.remove(event.path());
					this.live.put(event.path2(), changes.get(event.path2()));
					this.pending.add(new DirOp(parent(event.path2()), changes));
				}
				case "UNLINK" -> change(event.path(), null);
				case "FSYNC_DIR" -> {
					String dir = event.path();
					this.pending.removeIf((op) -> {
						if (op.dir().equals(dir)) {
							op.changes().forEach((name, inode) -> {
								if (inode == null) {
									this.durable.remove(name);
								}
								else {
									this.durable.put(name, inode);
								}
							});
							return true;
						}
						return false;
					});
				}
				default -> {
				}
			}
		}

		private void change(String path, Integer inode) {
			if (inode == null) {
				this.live.remove(path);
			}
			else {
				this.live.put(path, inode);
			}
			Map<String, Integer> changes = new LinkedHashMap<>();
			changes.put(path, inode);
			this.pending.add(new DirOp(parent(path), changes));
		}

		/** Inodes whose data was written but not (all) fsynced. */
		List<Integer> unsynced() {
			List<Integer> inodes = new ArrayList<>();
			this.liveData.forEach((inode, data) -> {
				if (!Arrays.equals(data, this.durableData.get(inode))) {
					inodes.add(inode);
				}
			});
			inodes.sort(null);
			return inodes;
		}

		/**
		 * One crash state: the durable entries plus the chosen pending directory
		 * operations; for each unsynced inode, 0 = only what was fsynced, 1 = everything,
		 * 2 = half of the unsynced tail.
		 */
		Map<String, byte[]> crash(long pendingMask, Map<Integer, Integer> dataChoice) {
			Map<String, Integer> names = new TreeMap<>(this.durable);
			for (int i = 0; i < this.pending.size(); i++) {
				if ((pendingMask & (1L << i)) != 0) {
					this.pending.get(i).changes().forEach((name, inode) -> {
						if (inode == null) {
							names.remove(name);
						}
						else {
							names.put(name, inode);
						}
					});
				}
			}
			Map<String, byte[]> files = new TreeMap<>();
			for (Map.Entry<String, Integer> entry : names.entrySet()) {
				if (!reachable(entry.getKey(), names)) {
					continue;
				}
				if (entry.getValue() == DIR) {
					files.put(entry.getKey() + "/", null);
					continue;
				}
				int inode = entry.getValue();
				byte[] durableBytes = this.durableData.get(inode);
				byte[] liveBytes = this.liveData.get(inode);
				int choice = dataChoice.getOrDefault(inode, 0);
				byte[] content = switch (choice) {
					case 1 -> liveBytes;
					case 2 -> Arrays.copyOf(liveBytes,
							durableBytes.length + Math.max(0, (liveBytes.length - durableBytes.length) / 2));
					default -> durableBytes;
				};
				files.put(entry.getKey(), content);
			}
			return files;
		}

		private static boolean reachable(String path, Map<String, Integer> names) {
			for (String dir = parent(path); !dir.isEmpty(); dir = parent(dir)) {
				if (!Integer.valueOf(DIR).equals(names.get(dir))) {
					return false;
				}
			}
			return true;
		}

	}

	// ------------------------------------------------------------------ the scenario

	record Version(byte[] content, boolean tombstone) {

		static final Version ABSENT = new Version(null, true);

	}

	static byte[] state(String marker) {
		return StorageTestSupport.state(marker + "-" + "x".repeat(300));
	}

}
