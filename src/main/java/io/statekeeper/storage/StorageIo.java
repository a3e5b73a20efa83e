package io.statekeeper.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one seam through which the storage touches the file system.
 * <p>
 * Every file-system call a write, a read or recovery makes goes through one method of
 * this class, so that tests can wrap it to record the exact operation trace and to inject
 * {@code ENOSPC}, {@code EIO}, {@code EACCES}, {@code EROFS}, short writes or crashes at
 * any step. Production uses plain NIO on the default file system. Methods are
 * deliberately small and do exactly one system-level thing each.
 */
public class StorageIo {

	static final Set<PosixFilePermission> FILE_PERMISSIONS = PosixFilePermissions.fromString("rw-------");

	static final Set<PosixFilePermission> DIRECTORY_PERMISSIONS = PosixFilePermissions.fromString("rwx------");

	private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE = PosixFilePermissions
		.asFileAttribute(FILE_PERMISSIONS);

	private static final FileAttribute<Set<PosixFilePermission>> DIRECTORY_MODE = PosixFilePermissions
		.asFileAttribute(DIRECTORY_PERMISSIONS);

	private final Map<Path, FileStore> stores = new ConcurrentHashMap<>();

	/**
	 * Creates a new file that must not exist yet ({@code O_CREAT|O_EXCL}), mode
	 * {@code 0600} from creation, and opens it for writing.
	 * @param file the file to create
	 * @return the open channel
	 * @throws IOException on any failure, {@link FileAlreadyExistsException} if it exists
	 */
	FileChannel createNew(Path file) throws IOException {
		FileChannel channel = FileChannel.open(file,
				EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE);
		// the umask may have cleared bits we asked for, never added any; make the mode
		// exact
		Files.setPosixFilePermissions(file, FILE_PERMISSIONS);
		return channel;
	}

	/**
	 * One {@code write(2)}: may write fewer bytes than remain in the buffer.
	 * @param channel the channel
	 * @param buffer the bytes to write
	 * @return the number of bytes written
	 * @throws IOException on failure
	 */
	public int write(FileChannel channel, ByteBuffer buffer) throws IOException {
		return channel.write(buffer);
	}

	/**
	 * Writes the whole buffer: {@link #write} until it is empty (a short write comes
	 * before {@code ENOSPC}), each call through this seam so that faults reach every one.
	 * @param channel the channel
	 * @param buffer the bytes to write
	 * @throws IOException on failure, or if writes stop making progress
	 */
	public void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
		int stalls = 0;
		while (buffer.hasRemaining()) {
			if (write(channel, buffer) == 0 && ++stalls > 100) {
				throw new IOException("write made no progress");
			}
		}
	}

	/**
	 * {@code fsync(2)} of a file's data and metadata.
	 * @param channel the channel
	 * @throws IOException on failure
	 */
	public void force(FileChannel channel) throws IOException {
		channel.force(true);
	}

	/**
	 * Opens a file for appending ({@code O_APPEND}), creating it (mode {@code 0600}) if
	 * it does not exist.
	 * @param file the file
	 * @return the open channel
	 * @throws IOException on failure
	 */
	public FileChannel openAppend(Path file) throws IOException {
		boolean created = !Files.exists(file);
		FileChannel channel = FileChannel.open(file,
				EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND), FILE_MODE);
		if (created) {
			Files.setPosixFilePermissions(file, FILE_PERMISSIONS);
		}
		return channel;
	}

	/**
	 * {@code fdatasync(2)}: a file's data, and its metadata only as far as reading the
	 * data back needs it (its size), as an append-only log wants.
	 * @param channel the channel
	 * @throws IOException on failure
	 */
	public void forceData(FileChannel channel) throws IOException {
		channel.force(false);
	}

	/**
	 * Cuts a file back to {@code size} bytes.
	 * @param channel the channel
	 * @param size the size to keep
	 * @throws IOException on failure
	 */
	public void truncate(FileChannel channel, long size) throws IOException {
		channel.truncate(size);
	}

	/**
	 * Closes a channel.
	 * @param channel the channel
	 * @throws IOException on failure
	 */
	public void close(FileChannel channel) throws IOException {
		channel.close();
	}

	/**
	 * Opens a file for reading.
	 * @param file the file
	 * @return the open channel
	 * @throws IOException on failure
	 */
	FileChannel openRead(Path file) throws IOException {
		return FileChannel.open(file, StandardOpenOption.READ);
	}

	/**
	 * One {@code read(2)}.
	 * @param channel the channel
	 * @param buffer the buffer to fill
	 * @return bytes read, or -1 at the end of the file
	 * @throws IOException on failure
	 */
	public int read(FileChannel channel, ByteBuffer buffer) throws IOException {
		return channel.read(buffer);
	}

	/**
	 * Creates a hard link {@code link} to {@code existing}.
	 * @param link the new name
	 * @param existing the existing file
	 * @throws IOException on failure, {@link UnsupportedOperationException} where the
	 * file system has no hard links
	 */
	public void link(Path link, Path existing) throws IOException {
		Files.createLink(link, existing);
	}

	/**
	 * Atomically replaces {@code target} with {@code source} ({@code rename(2)}). There
	 * is no non-atomic fallback: a file system that cannot do it fails the write loudly.
	 * @param source the file to move
	 * @param target the name it gets
	 * @throws IOException on failure
	 */
	public void move(Path source, Path target) throws IOException {
		Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
	}

	/**
	 * {@code fsync(2)} of a directory, making the names created, renamed or removed in it
	 * durable.
	 * @param directory the directory
	 * @throws IOException on failure
	 */
	public void fsyncDirectory(Path directory) throws IOException {
		try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
			channel.force(true);
		}
	}

	/**
	 * Removes a file if it exists.
	 * @param file the file
	 * @return whether it existed
	 * @throws IOException on failure
	 */
	public boolean delete(Path file) throws IOException {
		return Files.deleteIfExists(file);
	}

	/**
	 * Lists a directory's entries (names only, unsorted).
	 * @param directory the directory
	 * @return its entries, or an empty list if it does not exist
	 * @throws IOException on failure
	 */
	public List<Path> list(Path directory) throws IOException {
		if (!Files.isDirectory(directory)) {
			return List.of();
		}
		List<Path> entries = new ArrayList<>();
		try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
			stream.forEach(entries::add);
		}
		return entries;
	}

	/**
	 * Whether a file or directory exists.
	 * @param path the path
	 * @return whether it exists (without following a final symbolic link)
	 */
	public boolean exists(Path path) {
		return Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS);
	}

	/**
	 * Creates a directory, mode {@code 0700}, if it does not exist yet.
	 * @param directory the directory
	 * @return whether it was created by this call
	 * @throws IOException on failure
	 */
	public boolean createDirectory(Path directory) throws IOException {
		if (Files.isDirectory(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
			return false;
		}
		try {
			Files.createDirectory(directory, DIRECTORY_MODE);
		}
		catch (FileAlreadyExistsException ex) {
			if (Files.isDirectory(directory)) {
				return false;
			}
			throw ex;
		}
		Files.setPosixFilePermissions(directory, DIRECTORY_PERMISSIONS);
		return true;
	}

	/**
	 * The bytes available to this process on the file system holding {@code path}.
	 * @param path a path on the store
	 * @return usable bytes
	 * @throws IOException on failure
	 */
	public long usableSpace(Path path) throws IOException {
		FileStore store = this.stores.get(path);
		if (store == null) {
			// finding the store reads /proc/mounts and walks the parents: once per path,
			// not per write
			store = Files.getFileStore(path);
			this.stores.put(path, store);
		}
		return store.getUsableSpace();
	}

}
