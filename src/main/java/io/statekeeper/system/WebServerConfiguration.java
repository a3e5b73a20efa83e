package io.statekeeper.system;

import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;

/**
 * Lets encoded slashes ({@code %2F}) through Tomcat so that the request firewall refuses
 * them with a problem body, instead of Tomcat's bare HTML 400 page; reads and writes
 * bodies in larger chunks; puts a deadline on request headers ({@link SlowHeaderGuard}).
 */
@Component
class WebServerConfiguration implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {

	private final SlowHeaderGuard slowHeaders;

	WebServerConfiguration(SlowHeaderGuard slowHeaders) {
		this.slowHeaders = slowHeaders;
	}

	@Override
	public void customize(TomcatServletWebServerFactory factory) {
		// NIO HTTP/1.1 as Tomcat's default, with a deadline for request headers
		factory.setProtocol(SlowHeaderGuard.Protocol.class.getName());
		factory.addConnectorCustomizers(
				(connector) -> this.slowHeaders.watch((SlowHeaderGuard.Protocol) connector.getProtocolHandler()));
		factory.addConnectorCustomizers((connector) -> connector.setEncodedSolidusHandling("passthrough"));
		// a state body arrives in 64 KiB reads instead of Tomcat's default 8 KiB
		// (measured: 10 MiB PUT p50 -2 ms), and leaves in 64 KiB writes (a 10 KiB GET:
		// +20-30% throughput). Each open connection holds both buffers, so
		// server.tomcat.max-connections is 1,024 instead of 8,192: the same worst case
		// as Tomcat's defaults, 128 MiB.
		factory.addConnectorCustomizers((connector) -> connector.setProperty("socket.appReadBufSize", "65536"));
		factory.addConnectorCustomizers((connector) -> connector.setProperty("socket.appWriteBufSize", "65536"));
		factory.addContextCustomizers((context) -> ((org.apache.catalina.core.StandardHost) context.getParent())
			.setErrorReportValveClass(ProblemErrorReportValve.class.getName()));
		factory.addContextValves(new NoSwallowAfterTimeout());
	}

	/**
	 * After a 408 (a body too slow), the rest of the body is not read: Tomcat would
	 * otherwise drain it, up to {@code max-swallow-size}, at the slow client's pace,
	 * holding the request thread; the connection is closed instead.
	 */
	static final class NoSwallowAfterTimeout extends org.apache.catalina.valves.ValveBase {

		NoSwallowAfterTimeout() {
			super(true);
		}

		@Override
		public void invoke(org.apache.catalina.connector.Request request,
				org.apache.catalina.connector.Response response)
				throws java.io.IOException, jakarta.servlet.ServletException {
			getNext().invoke(request, response);
			if (response.getStatus() == org.springframework.http.HttpStatus.REQUEST_TIMEOUT.value()) {
				request.getCoyoteRequest().action(org.apache.coyote.ActionCode.DISABLE_SWALLOW_INPUT, null);
			}
		}

	}

}
