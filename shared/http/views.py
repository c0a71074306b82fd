"""The base of every API view: DRF's APIView, answering a method the view does not have with 405 first.

DRF authenticates and checks permissions before it looks for the method's handler, so a method a path
does not have answers 401 or 403 instead of 405 (e.g. PUT on a product without a token). A 405 says
what is true of the path whoever asks, with its `Allow` header (RFC 9110), and costs nothing to find
out: it comes before authentication here.
"""

from rest_framework import exceptions
from rest_framework import views as drf_views


class APIView(drf_views.APIView):
    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
