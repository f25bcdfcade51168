// A ControlServer on a socket in a temp dir, served by its own io_context thread.
#pragma once

#include "control/server.hpp"
#include "temp_dir.hpp"

#include <portd/net.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace portd::control::testing {

class ServerFixture : public ::testing::Test {
protected:
    void TearDown() override { stop_server(); }

    template <typename AnyHandler>
    void start_server(AnyHandler handler,
                      std::chrono::milliseconds io_timeout = std::chrono::seconds(5)) {
        server_ = std::make_unique<ControlServer>(io_, socket_, std::move(handler));
        server_->set_io_timeout(io_timeout);
        // Started before the thread runs: ControlServer is used from one thread at a time.
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    void stop_server() {
        if (!thread_.joinable()) {
            return;
        }
        // The server lives on the io thread: stop and destroy it there.
        std::promise<void> done;
        net::post(io_, [this, &done] {
            server_.reset();
            done.set_value();
        });
        done.get_future().wait();
        io_.stop();
        thread_.join();
    }

    TempDir dir_;
    std::filesystem::path socket_ = dir_.path() / "control.sock";
    net::io_context io_;
    std::unique_ptr<ControlServer> server_;
    std::thread thread_;
};

}  // namespace portd::control::testing
