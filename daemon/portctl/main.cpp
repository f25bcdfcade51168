// portctl: asks the running portd for its status, its port table, or a reload.
#include "control/cli.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    return portd::control::run_portctl(args, std::getenv(portd::control::kSocketEnvironment),
                                       std::cout, std::cerr);
}
