package io.statekeeper.storage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@link CrashDriver} as a child JVM, and checks the invariant on what it leaves
 * behind.
 */
final class DriverProcess {

	private DriverProcess() {
	}

	static List<String> java(String... args) {
		List<String> command = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
						"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto", "-cp",
						System.getProperty("java.class.path"), CrashDriver.class.getName()));
		command.addAll(List.of(args));
		return command;
	}

	static Process start(List<String> command) {
		try {
			return new ProcessBuilder(command).redirectErrorStream(true).start();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** Runs to the end; returns every line it printed. */
	static List<String> run(List<String> command) {
		Process process = start(command);
		List<String> lines = new ArrayList<>();
		try (BufferedReader reader = reader(process)) {
			for (String line = reader.readLine(); line != null; line = reader.readLine()) {
				lines.add(line);
			}
			process.waitFor();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
		return lines;
	}

	static BufferedReader reader(Process process) {
		return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
	}

	/** The highest acknowledged revision per state in {@code ACK <name> <rev>} lines. */
	static Map<String, Long> acknowledged(List<String> lines, Map<String, Long> into) {
		for (String line : lines) {
			if (line.startsWith("ACK ")) {
				String[] parts = line.split(" ");
				into.merge(parts[1], Long.parseLong(parts[2]), Math::max);
			}
		}
		return into;
	}

	/**
	 * Recovers the directory in this process and checks the invariant: every acknowledged
	 * state is there, verified, at its last acknowledged revision or the one in flight
	 * after it, holding exactly what that revision was written with; no temp file is
	 * left.
	 * @return the revision of each state found
	 */
	static Map<String, Long> checkInvariant(Path dir, Map<String, Long> acknowledged, String replay) {
		return checkInvariant(dir, acknowledged, replay, java.util.Set.of());
	}

	/**
	 * As {@link #checkInvariant(Path, Map, String)}, except that the named states
	 * (restored from an earlier version by recovery) are only required to be servable.
	 */
	static Map<String, Long> checkInvariant(Path dir, Map<String, Long> acknowledged, String replay,
			java.util.Set<String> restored) {
		FileStateRepository repository = new FileStateRepository(
				StorageTestSupport.properties(dir, 2, StorageProperties.OnCorruption.HOLD), new StorageIo(),
				Clock.systemUTC(), new SimpleMeterRegistry());
		Map<String, Long> found = new HashMap<>();
		try {
			for (LoadedState state : repository.loadAll()) {
				assertThat(state.condition()).as(replay + ": " + state.name()).isEqualTo(LoadedState.Condition.OK);
				long revision = state.current().header().revision();
				found.put(state.name(), revision);
				if (restored.contains(state.name())) {
					continue;
				}
				assertThat(state.current().body()).as(replay + ": body of " + state.name() + " revision " + revision)
					.isEqualTo(CrashDriver.body(state.name(), revision));
			}
			acknowledged.forEach((name, revision) -> assertThat(found.get(name))
				.as(replay + ": " + name + " acknowledged at revision " + revision)
				.isIn(revision, revision + 1));
			assertThat(StorageTestSupport.tempFiles(dir)).as(replay).isEmpty();
		}
		finally {
			repository.close();
		}
		return found;
	}

}
