package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A small, real file system that can fill up: a tmpfs mounted for one test. Mounting
 * needs root; elsewhere the test is skipped with the reason.
 */
public final class Tmpfs {

	private Tmpfs() {
	}

	/**
	 * Mounts a tmpfs at {@code base/tmpfs}, or skips the test.
	 * @param base a temporary directory
	 * @param options the mount options, e.g. {@code size=2m,mode=0700}
	 * @return the mount point
	 */
	public static Path mountOrSkip(Path base, String options) throws IOException, InterruptedException {
		Path mount = base.resolve("tmpfs");
		Files.createDirectories(mount);
		String failure = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", mount.toString());
		assumeTrue(failure == null, () -> "needs root to mount a tmpfs (" + failure + ")");
		return mount;
	}

	/**
	 * Unmounts (lazily, so that a file still open does not stop it).
	 * @param mount the mount point
	 */
	public static void unmount(Path mount) throws IOException, InterruptedException {
		run("umount", "-l", mount.toString());
	}

	/**
	 * Runs a command.
	 * @return {@code null} if it succeeded, else the command and its output
	 */
	public static String run(String... command) throws IOException, InterruptedException {
		Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes());
		return (process.waitFor() == 0) ? null : String.join(" ", command) + ": " + output.strip();
	}

}
