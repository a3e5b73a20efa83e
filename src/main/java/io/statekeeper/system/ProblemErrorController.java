package io.statekeeper.system;

import java.io.IOException;
import java.util.Map;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.RequestMapping;

/**
 * The error page for what fails outside Spring MVC's handlers (a filter, a
 * {@code sendError}): an RFC 9457 problem instead of Boot's JSON error map, and a 404
 * problem for a client that asks for {@code /error} itself (Boot answered 500 with
 * {@code "status": 999}).
 */
@Controller
class ProblemErrorController implements ErrorController {

	@RequestMapping("${server.error.path:/error}")
	void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
		Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
		HttpStatus status = (code instanceof Integer value) ? HttpStatus.resolve(value) : null;
		if (status == null || status.value() < 400) {
			Problems.write(request, response, HttpStatus.NOT_FOUND, "not-found", "Not found",
					"No such resource: " + request.getRequestURI(), Map.of());
			return;
		}
		if (status.is5xxServerError()) {
			Problems.write(request, response, status, "internal-error", "Internal error",
					"The request could not be completed", Map.of());
			return;
		}
		Problems.write(request, response, status, "request-rejected", status.getReasonPhrase(),
				"The server refused this request", Map.of());
	}

}
