package io.statekeeper.system;

import java.io.IOException;
import java.io.Writer;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;

/**
 * Tomcat's error report for requests it refuses before Spring sees them (a NUL or
 * backslash in the path, a malformed request line): an RFC 9457 problem instead of an
 * HTML page, with nothing of the server in it.
 */
public class ProblemErrorReportValve extends ErrorReportValve {

	@Override
	protected void report(Request request, Response response, Throwable throwable) {
		int status = response.getStatus();
		if (status < 400 || response.getContentWritten() > 0) {
			return;
		}
		java.util.concurrent.atomic.AtomicBoolean reported = new java.util.concurrent.atomic.AtomicBoolean();
		response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, reported);
		if (!reported.get() || !response.setErrorReported()) {
			return;
		}
		String body = new String(Problems.body(status, "request-rejected", "Request rejected",
				"The server refused this request before handling it (malformed request line, URL or headers)", null),
				java.nio.charset.StandardCharsets.UTF_8);
		try {
			response.setContentType("application/problem+json");
			response.setCharacterEncoding("UTF-8");
			Writer writer = response.getReporter();
			if (writer != null) {
				writer.write(body);
				response.finishResponse();
			}
		}
		catch (IOException | IllegalStateException ex) {
			// the client is gone or the response was committed: nothing more to send
		}
	}

}
