package io.statekeeper.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.springframework.util.unit.DataSize;

/**
 * Builds repositories over a temp directory, and reads what is on disk.
 */
public final class StorageTestSupport {

	private StorageTestSupport() {
	}

	public static StorageProperties properties(Path dataDir) {
		return properties(dataDir, 5, StorageProperties.OnCorruption.HOLD);
	}

	public static StorageProperties properties(Path dataDir, int backupsKept,
			StorageProperties.OnCorruption onCorruption) {
		return new StorageProperties(dataDir, backupsKept, DataSize.ofMegabytes(64), DataSize.ofBytes(0),
				Duration.ofSeconds(10), onCorruption, null, StorageProperties.Type.FILE);
	}

	public static FileStateRepository open(StorageProperties properties, StorageIo io, MeterRegistry registry) {
		return new FileStateRepository(properties, io, Clock.systemUTC(), registry);
	}

	public static FileStateRepository open(Path dataDir, StorageIo io) {
		return open(properties(dataDir), io, new SimpleMeterRegistry());
	}

	public static byte[] state(String marker) {
		return ("{\"version\":\"1.0.0\",\"resources\":{},\"metadata\":{\"marker\":\"" + marker + "\"}}")
			.getBytes(StandardCharsets.UTF_8);
	}

	public static Path stateDir(Path dataDir, String name) {
		return dataDir.resolve("states").resolve(name);
	}

	public static Path current(Path dataDir, String name) {
		return stateDir(dataDir, name).resolve("current.json");
	}

	/** The body of a version file: everything after the header line. */
	public static byte[] body(Path file) {
		try {
			byte[] all = Files.readAllBytes(file);
			int newline = 0;
			while (all[newline] != '\n') {
				newline++;
			}
			return java.util.Arrays.copyOfRange(all, newline + 1, all.length);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** Every file under the data directory whose name starts with {@code .tmp-}. */
	public static List<Path> tempFiles(Path dataDir) {
		try (Stream<Path> files = Files.walk(dataDir)) {
			return files.filter((file) -> file.getFileName().toString().startsWith(".tmp-")).toList();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	public static List<Path> quarantined(Path dataDir) {
		try (Stream<Path> files = Files.walk(dataDir.resolve("quarantine"))) {
			return files.filter(Files::isRegularFile).toList();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	public static double counter(MeterRegistry registry, String name, String... tags) {
		var counter = registry.find(name).tags(tags).counter();
		return (counter != null) ? counter.count() : 0;
	}

}
