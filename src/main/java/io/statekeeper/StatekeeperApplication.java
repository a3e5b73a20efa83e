package io.statekeeper;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class StatekeeperApplication {

	public static void main(String[] args) {
		SpringApplication.run(StatekeeperApplication.class, args);
	}

}
