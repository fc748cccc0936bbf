//! SOQL queries through `/query` and `/queryAll`, a page at a time or all pages at once.

use reqwest::Method;

use super::client::Call;
use super::errors::SalesforceError;
use super::types::{QueryResult, Record};
use super::SalesforceClient;

/// The rows a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryScope {
    /// `/query`: live rows only.
    Live,
    /// `/queryAll`: also soft-deleted rows (`IsDeleted = true`) and merged-away rows.
    IncludeDeleted,
}

impl QueryScope {
    pub(crate) fn resource(self) -> &'static str {
        match self {
            QueryScope::Live => "/query",
            QueryScope::IncludeDeleted => "/queryAll",
        }
    }
}

/// Reads the pages of one query in order; see [`SalesforceClient::query_pages`].
#[derive(Debug)]
pub struct QueryPager {
    client: SalesforceClient,
    soql: String,
    scope: QueryScope,
    next: PagerPosition,
}

#[derive(Debug)]
enum PagerPosition {
    Start,
    More(String),
    Done,
}

impl QueryPager {
    /// Fetches the next page, or returns `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<QueryResult>, SalesforceError> {
        let page = match &self.next {
            PagerPosition::Done => return Ok(None),
            PagerPosition::Start => self.client.query_page(&self.soql, self.scope).await?,
            PagerPosition::More(url) => self.client.query_more(url).await?,
        };

        self.next = match (&page.next_records_url, page.done) {
            (Some(url), false) => PagerPosition::More(url.clone()),
            _ => PagerPosition::Done,
        };
        Ok(Some(page))
    }
}

impl SalesforceClient {
    /// Runs a SOQL query over live rows and returns the records of all its pages.
    pub async fn query(&self, soql: &str) -> Result<Vec<Record>, SalesforceError> {
        self.collect_pages(soql, QueryScope::Live).await
    }

    /// Runs a SOQL query that also reads deleted and merged rows, and returns all its records.
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Record>, SalesforceError> {
        self.collect_pages(soql, QueryScope::IncludeDeleted).await
    }

    /// Starts reading a query a page at a time, for results too large to hold at once.
    pub fn query_pages(&self, soql: &str, scope: QueryScope) -> QueryPager {
        QueryPager {
            client: self.clone(),
            soql: soql.to_owned(),
            scope,
            next: PagerPosition::Start,
        }
    }

    /// Fetches the first page of a query.
    pub async fn query_page(
        &self,
        soql: &str,
        scope: QueryScope,
    ) -> Result<QueryResult, SalesforceError> {
        let call = Call::query("query", scope.resource());
        let path = self.data_path(scope.resource());
        self.send(call, Method::GET, &path, &[("q", soql)], None)
            .await?
            .json(call.operation)
    }

    /// Fetches the page at a `nextRecordsUrl` returned by an earlier page.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryResult, SalesforceError> {
        let call = Call::query("query_more", next_records_url);
        self.send(call, Method::GET, next_records_url, &[], None)
            .await?
            .json(call.operation)
    }

    async fn collect_pages(
        &self,
        soql: &str,
        scope: QueryScope,
    ) -> Result<Vec<Record>, SalesforceError> {
        let mut pager = self.query_pages(soql, scope);
        let mut records = Vec::new();
        while let Some(page) = pager.next_page().await? {
            records.extend(page.records);
        }
        Ok(records)
    }
}
