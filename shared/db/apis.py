"""`GET /api/<service prefix>/admin/shards/`: the shard report of a service, for admins only."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from shared.auth.permissions import IsStaff
from shared.db.resharding import shard_report
from shared.http.views import APIView


class ShardReportApi(APIView):
    """Per shard server: its logical shards, row counts per sharded table, and its replicas' lag."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: dict}, tags=["operations"])
    def get(self, request):
        return Response({"servers": shard_report()})
