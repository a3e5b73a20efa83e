package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whose address the audit log records: the client's, taken from {@code X-Forwarded-For}
 * only when forwarded headers are switched on and the request comes from a configured
 * proxy; otherwise the connection's, whatever the request claims.
 */
class ForwardedHeadersTests {

	@TempDir
	Path dataDir;

	private String auditedRemote(String... properties) {
		try (RunningService service = RunningService.start(this.dataDir, properties)) {
			int status = service
				.send(HttpRequest.newBuilder(service.api("/api/v1/states/fwd"))
					.header("Content-Type", "application/json")
					.header("X-Forwarded-For", "203.0.113.7")
					.PUT(HttpRequest.BodyPublishers.ofByteArray(SecurityTests.STATE)))
				.statusCode();
			assertThat(status).isIn(200, 201);
			String audit = text(service.get("/api/v1/audit?state=fwd"));
			String last = audit.substring(audit.lastIndexOf("\"remote\":\"") + 10);
			return last.substring(0, last.indexOf('"'));
		}
	}

	@Test
	void byDefaultTheConnectionsAddressIsRecordedWhateverTheRequestClaims() {
		assertThat(auditedRemote()).isEqualTo("127.0.0.1");
	}

	@Test
	void aConfiguredProxysForwardedAddressIsRecorded() {
		assertThat(auditedRemote("server.forward-headers-strategy=native",
				"server.tomcat.remoteip.internal-proxies=127\\.0\\.0\\.1"))
			.isEqualTo("203.0.113.7");
	}

	@Test
	void aProxyThatIsNotConfiguredIsNotBelieved() {
		assertThat(auditedRemote("server.forward-headers-strategy=native",
				"server.tomcat.remoteip.internal-proxies=10\\.1\\.2\\.3"))
			.isEqualTo("127.0.0.1");
	}

}
