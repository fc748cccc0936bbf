//! The ceiling: a bare actix-web endpoint that returns 200 and does no work, served with the
//! same HTTP stack and worker count as the server.

use std::net::SocketAddr;
use std::sync::mpsc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

/// A running bare endpoint on its own thread.
pub struct Ceiling {
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl Ceiling {
    /// Binds `POST /` on a free loopback port.
    pub fn start() -> anyhow::Result<Ceiling> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ceiling".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let bound = HttpServer::new(|| {
                        App::new().route(
                            "/",
                            web::post().to(|| async { HttpResponse::Ok().finish() }),
                        )
                    })
                    .disable_signals()
                    .bind(("127.0.0.1", 0));
                    let server = match bound {
                        Ok(server) => server,
                        Err(error) => {
                            let _ = sender.send(Err(error));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let server = server.run();
                    let _ = sender.send(Ok((addr, server.handle())));
                    let _ = server.await;
                });
            })?;
        let (addr, handle) = receiver.recv()??;
        Ok(Ceiling {
            addr,
            handle,
            thread,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the endpoint and joins its thread.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.thread.join();
    }
}
