package io.statekeeper;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real service under {@code strace}: one acknowledged PUT shows fsync of the temp
 * file, then the rename onto {@code current.json}, then fsync of the state's directory,
 * and only then the HTTP response on the socket; a lock taken after it shows the same
 * order for {@code locks/prod.json}, and its release the unlink, then the directory's
 * fsync, then the response. Skipped where strace is not installed ({@code .ci/run}
 * installs it).
 */
@Tag("reliability")
class SyscallOrderIT {

	@TempDir
	Path dataDir;

	@TempDir
	Path work;

	@Test
	void anAcknowledgedPutIsFsyncedRenamedAndDirectoryFsyncedBeforeTheResponse() throws Exception {
		assumeTrue(Files.isExecutable(Path.of("/usr/bin/strace")), "strace is not installed");
		Path trace = this.work.resolve("trace.txt");
		List<String> strace = List.of("strace", "-f", "--seccomp-bpf", "-y", "-s", "24", "-e",
				"trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,write,writev,sendto,sendmsg", "-o",
				trace.toString());
		try (ChildProcess service = ChildProcess.startUnder(strace, this.dataDir, this.work.resolve("service.log"))) {
			service.awaitReady();
			HttpResponse<byte[]> put = service.send(HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofString("{\"version\":\"1\",\"resources\":{},\"metadata\":{}}",
						StandardCharsets.UTF_8)));
			assertThat(put.statusCode()).isEqualTo(201);
			// strace writes the response's syscall line before the client could read it;
			// wait for the file to show it
			await().atMost(Duration.ofSeconds(30))
				.untilAsserted(() -> assertThat(Files.readString(trace)).contains("HTTP/1.1 201"));
			// then a lock and its release, answered 200 only once durable too
			HttpResponse<byte[]> lock = service.send(HttpRequest.newBuilder(service.api("/terraform/states/prod/lock"))
				.method("LOCK", HttpRequest.BodyPublishers.ofString("{\"ID\":\"id-s\"}", StandardCharsets.UTF_8)));
			assertThat(lock.statusCode()).isEqualTo(200);
			HttpResponse<byte[]> unlock = service.send(HttpRequest
				.newBuilder(service.api("/terraform/states/prod/lock"))
				.method("UNLOCK", HttpRequest.BodyPublishers.ofString("{\"ID\":\"id-s\"}", StandardCharsets.UTF_8)));
			assertThat(unlock.statusCode()).isEqualTo(200);
			await().atMost(Duration.ofSeconds(30))
				.untilAsserted(
						() -> assertThat(Files.readString(trace).split("HTTP/1.1 200", -1)).hasSizeGreaterThan(2));
		}
		List<String> lines = Files.readAllLines(trace);
		int fsyncTemp = find(lines, Pattern.compile("fsync\\(\\d+<[^>]*/states/prod/(\\.tmp-1-[0-9a-f]+)>\\) = 0"), 0);
		int rename = find(lines, Pattern.compile(
				"rename(at2?)?\\(.*\"[^\"]*/states/prod/\\.tmp-1-[0-9a-f]+\".*\"[^\"]*/states/prod/current\\.json\".*= 0"),
				fsyncTemp);
		int fsyncDir = find(lines, Pattern.compile("fsync\\(\\d+<[^>]*/states/prod>\\) = 0"), rename);
		int response = find(lines, response(201), fsyncDir);
		System.out.println("RELIABILITY syscall-order fsync(temp)@" + fsyncTemp + " rename@" + rename + " fsync(dir)@"
				+ fsyncDir + " response@" + response);
		assertThat(fsyncTemp).isLessThan(rename);
		assertThat(rename).isLessThan(fsyncDir);
		assertThat(fsyncDir).isLessThan(response);

		// the lock: fsync(temp) -> rename -> fsync(locks/) -> 200; the release: unlink ->
		// fsync(locks/) -> 200
		int lockTemp = find(lines, Pattern.compile("fsync\\(\\d+<[^>]*/locks/\\.tmp-prod\\.json-[0-9a-f]+>\\) = 0"),
				response);
		int lockRename = find(lines, Pattern.compile(
				"rename(at2?)?\\(.*\"[^\"]*/locks/\\.tmp-prod\\.json-[0-9a-f]+\".*\"[^\"]*/locks/prod\\.json\".*= 0"),
				lockTemp);
		int lockDir = find(lines, Pattern.compile("fsync\\(\\d+<[^>]*/locks>\\) = 0"), lockRename);
		int locked = find(lines, response(200), lockDir);
		int unlinked = find(lines, Pattern.compile("unlink(at)?\\(.*\"[^\"]*/locks/prod\\.json\".*= 0"), locked);
		int unlockDir = find(lines, Pattern.compile("fsync\\(\\d+<[^>]*/locks>\\) = 0"), unlinked);
		int unlocked = find(lines, response(200), unlockDir);
		System.out.println("RELIABILITY syscall-order lock fsync(temp)@" + lockTemp + " rename@" + lockRename
				+ " fsync(dir)@" + lockDir + " response@" + locked + "; unlock unlink@" + unlinked + " fsync(dir)@"
				+ unlockDir + " response@" + unlocked);
	}

	/** The syscall that sends an HTTP response with this status. */
	private static Pattern response(int status) {
		return Pattern.compile("(write|writev|sendto|sendmsg)\\(\\d+<(TCP|socket|TCPv6)[^>]*>.*HTTP/1\\.1 " + status);
	}

	private static int find(List<String> lines, Pattern pattern, int from) {
		for (int i = from; i < lines.size(); i++) {
			Matcher matcher = pattern.matcher(lines.get(i));
			if (matcher.find()) {
				return i;
			}
		}
		throw new AssertionError("no line after " + from + " matches " + pattern + " in:\n"
				+ String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
	}

}
